"""Channel-layer groups and the events published to them, sent only after commit.

Payloads are JSON primitives (ids, text) so the in-memory layer and Redis behave alike.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone


def conversation_group(conversation_public_id: str) -> str:
    return f"conversation.{conversation_public_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def publish(group: str, event: dict) -> None:
    """Send an event to a group now (call from sync code outside a transaction)."""
    async_to_sync(get_channel_layer().group_send)(group, event)


def publish_on_commit(group: str, event: dict) -> None:
    """Send an event to a group once the current transaction commits."""
    transaction.on_commit(lambda: publish(group, event))


# Payloads: every event is built by one of these functions, nowhere else.


def sidebar_changed_event(
    *, conversation_public_id: str, action: str, token_count: int | None = None
) -> dict:
    event = {"type": "sidebar.changed", "conversation_id": conversation_public_id}
    event["action"] = action
    if token_count is not None:
        event["token_count"] = token_count  # the open chat's header shows it with no query
    return event


def messages_created_event(*, message_ids: list[str], replaces: str = "", html: str = "") -> dict:
    # The frame is rendered once, in the sender's zone; a socket in another zone renders its own.
    return {
        "type": "message.created",
        "message_ids": message_ids,
        "replaces": replaces,
        "html": html,
        "zone": timezone.get_current_timezone_name(),
    }


def thread_changed_event() -> dict:
    return {"type": "thread.changed"}


def generation_stop_event(*, message_public_id: str, reason: str = "") -> dict:
    return {"type": "generation.stop", "message_id": message_public_id, "reason": reason}


def conversation_status_event(*, status: str, reason: str) -> dict:
    return {"type": "conversation.status", "status": status, "reason": reason}


def session_ended_event() -> dict:
    return {"type": "session.ended"}


def sidebar_changed(
    *, user_id: int, conversation_public_id: str, action: str, token_count: int | None = None
) -> None:
    """Tell every tab of the user that a sidebar row changed (after commit)."""
    publish_on_commit(
        user_group(user_id),
        sidebar_changed_event(
            conversation_public_id=conversation_public_id, action=action, token_count=token_count
        ),
    )


# Events of the conversation group `conversation.<public id>` (consumers render them as HTML):
#   {"type": "message.created", "message_ids": [public ids], "replaces": public id or "",
#    "html": their frame, rendered once (CSRF_PLACEHOLDER for the token), "zone": the zone
#    it was rendered in}
#       new messages; "replaces" names the message a new branch takes the place of
#   {"type": "generation.delta", "message_id": public id, "seq": n, "append_html": closed
#    blocks to append, "tail_html": the open tail's HTML, "tail_keep" UTF-16 units of the
#    previous tail kept and "tail_delta" added (the same tail, cheaper), "reset": drop the
#    blocks first, "html": the frame as HTML when it closes blocks or resets, else "" (each
#    socket writes that tail frame itself with its alias of the reply, blocks.tail_frame)}
#       at most every GENERATION_PUBLISH_INTERVAL while a reply streams, rendered once by
#       the engine
#   {"type": "generation.done", "message_id": public id, "status": final status,
#    "html": the canonical message partial, rendered once, CSRF_PLACEHOLDER for the token}
#   {"type": "conversation.status", "status": active|locked|closed, "reason": text}
#       a moderator locked, closed or reopened it: every tab re-renders its composer
#   {"type": "thread.changed"}  the active branch changed (branch switch): re-fetch the thread
# The engine of a reply listens on `generation.<message public id>` for
#   {"type": "generation.stop", "message_id": public id, "reason": status line or ""}
#   {"type": "generation.resync", "message_id": public id, "channel": a socket's channel}
#       a socket missed a frame or joined late; the engine answers that channel with
#   {"type": "generation.frame", "message_id": public id, "seq": n, "blocks_html": every
#    closed block so far, "tail_html": the open tail}
# A websocket of a signed-in session listens on `session.<session key>` for
#   {"type": "session.ended"}  sent on logout: the socket closes and receives nothing more
# and on `user.<id>` for
#   {"type": "user.sessions_ended"}  the password changed or the account was deactivated:
#       each socket re-checks its session and closes if it no longer signs in


def generation_group(message_public_id: str) -> str:
    return f"generation.{message_public_id}"


def session_group(session_key: str) -> str:
    return f"session.{session_key}"


async def apublish(group: str, event: dict) -> None:
    """Send an event to a group from async code."""
    await get_channel_layer().group_send(group, event)


def messages_created(
    *, conversation_public_id: str, message_ids: list[str], replaces: str = "", html: str = ""
) -> None:
    """Tell every tab on the conversation about new messages (after commit).

    `html` is their frame, rendered once for every socket (engine.messages_created_render).
    """
    publish_on_commit(
        conversation_group(conversation_public_id),
        messages_created_event(message_ids=message_ids, replaces=replaces, html=html),
    )


def thread_changed(*, conversation_public_id: str) -> None:
    """Tell every tab on the conversation that its active branch changed (after commit)."""
    publish_on_commit(conversation_group(conversation_public_id), thread_changed_event())


def generation_stop(*, message_public_id: str, reason: str = "") -> None:
    """Ask the engine of a reply, in whichever process it runs, to stop (after commit).

    `reason` becomes the stopped reply's status line (empty: the engine's "Stopped by user.").
    """
    publish_on_commit(
        generation_group(message_public_id),
        generation_stop_event(message_public_id=message_public_id, reason=reason),
    )


def user_sessions_ended(*, user_id: int) -> None:
    """Ask every socket of the user to close unless its session still signs in (after commit)."""
    publish_on_commit(user_group(user_id), user_sessions_ended_event())


def generation_done(*, conversation_public_id: str, message_public_id: str, status: str) -> None:
    """Tell every tab on the conversation that a reply ended, with its status (after commit)."""
    publish_on_commit(
        conversation_group(conversation_public_id),
        generation_done_event(message_public_id=message_public_id, status=status),
    )


def session_ended(*, session_key: str) -> None:
    """Close every websocket of a session now (it logged out)."""
    publish(session_group(session_key), session_ended_event())


def user_sessions_ended_event() -> dict:
    return {"type": "user.sessions_ended"}


def generation_delta_event(
    *, message_public_id: str, frame, text_start: int = 0, text_delta: str = "", html: str = ""
) -> dict:
    """Return the event of one streamed frame (a blocks.Frame) as JSON primitives.

    `text_delta` is the raw text added at `text_start`, for the clients of text (SSE);
    `html` the frame as a socket that was sent the previous one shows it, rendered once.
    """
    return {
        "type": "generation.delta",
        "message_id": message_public_id,
        "html": html,
        "text_start": text_start,
        "text_delta": text_delta,
        "seq": frame.seq,
        "append_html": frame.append_html,
        "tail_html": frame.tail_html,
        "tail_keep": frame.tail_keep,
        "tail_delta": frame.tail_delta,
        "reset": frame.reset,
    }


def generation_frame_event(
    *, message_public_id: str, seq: int, blocks_html: str, tail_html: str
) -> dict:
    """Return the whole-state frame that resyncs one socket."""
    return {
        "type": "generation.frame",
        "message_id": message_public_id,
        "seq": seq,
        "blocks_html": blocks_html,
        "tail_html": tail_html,
    }


def generation_resync_event(*, message_public_id: str, channel: str) -> dict:
    """Return the request a socket sends the engine of a reply for its whole state."""
    return {"type": "generation.resync", "message_id": message_public_id, "channel": channel}


def generation_done_event(*, message_public_id: str, status: str, html: str = "") -> dict:
    """Return the final event of a reply, carrying its canonical partial."""
    return {
        "type": "generation.done",
        "message_id": message_public_id,
        "status": status,
        "html": html,
    }


def conversation_status_changed(*, conversation_public_id: str, status: str, reason: str) -> None:
    """Tell every tab on the conversation that its status changed (after commit)."""
    publish_on_commit(
        conversation_group(conversation_public_id),
        conversation_status_event(status=status, reason=reason),
    )
