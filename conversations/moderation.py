"""Staff moderation of conversations: every action writes a ModerationEvent.

Lock and close set ``Conversation.status`` and ``status_reason``; the send service checks them
on every request, so they take effect on the next request through any door. A reply being
generated is stopped (its text kept), and every open tab is told at once to re-render its
composer (``conversation.status``).
"""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from conversations import services
from conversations.models import Conversation, ModerationEvent
from conversations.selectors import message_generating
from core import events

REASON_MAX_CHARS = ModerationEvent._meta.get_field("reason").max_length


def _clean_reason(reason: str, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise ValidationError("A reason is required: the user sees it.")
    if len(reason) > REASON_MAX_CHARS:
        raise ValidationError(f"The reason is longer than {REASON_MAX_CHARS} characters.")
    return reason


def _record(
    *, conversation: Conversation, actor: AbstractBaseUser | None, action: str, reason: str
) -> ModerationEvent:
    return ModerationEvent.objects.create(
        actor=actor,
        conversation=conversation,
        conversation_public_id=conversation.public_id,
        conversation_title=conversation.title,
        action=action,
        reason=reason,
    )


def _set_status(
    *,
    conversation: Conversation,
    actor: AbstractBaseUser | None,
    status: str,
    action: str,
    reason: str,
) -> ModerationEvent:
    with transaction.atomic():
        conversation.status = status
        conversation.status_reason = reason
        # updated_at stays: moderation must not move the conversation in the owner's sidebar.
        conversation.save(update_fields=["status", "status_reason"])
        event = _record(conversation=conversation, actor=actor, action=action, reason=reason)
        # A paused or finished conversation must not keep producing text.
        generating = message_generating(conversation=conversation)
        if generating is not None:
            services.message_stop(message=generating, reason=stop_reason(status, reason))
        _announce(conversation=conversation)
    return event


def stop_reason(status: str, reason: str) -> str:
    """Return the status line of a reply a lock or close stopped: the owner sees why."""
    line = f"Stopped: conversation {status}"
    return f"{line} — {reason}" if reason else f"{line}."


def _announce(*, conversation: Conversation) -> None:
    events.sidebar_changed(
        user_id=conversation.owner_id,
        conversation_public_id=conversation.public_id,
        action="updated",
    )
    events.conversation_status_changed(
        conversation_public_id=conversation.public_id,
        status=conversation.status,
        reason=conversation.status_reason,
    )


def conversation_lock(
    *, conversation: Conversation, actor: AbstractBaseUser | None, reason: str
) -> ModerationEvent:
    """Lock a conversation: it stays readable but accepts no new message."""
    return _set_status(
        conversation=conversation,
        actor=actor,
        status=Conversation.Status.LOCKED,
        action=ModerationEvent.Action.LOCK,
        reason=_clean_reason(reason, required=True),
    )


def conversation_close(
    *, conversation: Conversation, actor: AbstractBaseUser | None, reason: str
) -> ModerationEvent:
    """Close a conversation for good: readable, no new message, the user sees the reason."""
    return _set_status(
        conversation=conversation,
        actor=actor,
        status=Conversation.Status.CLOSED,
        action=ModerationEvent.Action.CLOSE,
        reason=_clean_reason(reason, required=True),
    )


def conversation_reopen(
    *, conversation: Conversation, actor: AbstractBaseUser | None, reason: str = ""
) -> ModerationEvent:
    """Make a locked or closed conversation active again."""
    reason = _clean_reason(reason, required=False)
    with transaction.atomic():
        conversation.status = Conversation.Status.ACTIVE
        conversation.status_reason = ""
        conversation.save(update_fields=["status", "status_reason"])
        event = _record(
            conversation=conversation,
            actor=actor,
            action=ModerationEvent.Action.REOPEN,
            reason=reason,
        )
        _announce(conversation=conversation)
    return event


def conversation_revoke_shares(
    *, conversation: Conversation, actor: AbstractBaseUser | None, reason: str = ""
) -> int:
    """Revoke every share link of a conversation that is not revoked yet; return how many."""
    reason = _clean_reason(reason, required=False)
    with transaction.atomic():
        revoked = conversation.share_links.filter(revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        _record(
            conversation=conversation,
            actor=actor,
            action=ModerationEvent.Action.REVOKE_SHARES,
            reason=reason,
        )
    return revoked


def conversation_delete_moderated(
    *, conversation: Conversation, actor: AbstractBaseUser | None, reason: str = ""
) -> ModerationEvent:
    """Delete a conversation (messages and shares go by database cascade), keeping the log."""
    reason = _clean_reason(reason, required=False)
    with transaction.atomic():
        event = _record(
            conversation=conversation,
            actor=actor,
            action=ModerationEvent.Action.DELETE,
            reason=reason,
        )
        # One DELETE: messages and share links cascade, the event's link is set to NULL.
        services.conversation_delete(conversation=conversation)
    event.conversation = None
    return event
