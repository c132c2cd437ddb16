"""The engine's reads and writes; plain sync functions the loop runs in its database threads."""

import logging
import sys
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from conversations.counters import conversation_counters_update
from conversations.engine.context import build_context, continue_context
from conversations.engine.state import (
    Generation,
    alive_key,
    is_running,
    mark_alive_many,
    stop_key,
)
from conversations.llm import Usage, estimate_tokens
from conversations.models import Conversation, Message
from conversations.rendering import RENDER_VERSION, message_html
from conversations.selectors import message_sibling_positions

logger = logging.getLogger(__name__)

ABANDONED_REASON = "The server stopped while replying."


def reply_prepare(message_id: int) -> Generation | None:
    """Return the generation of a reply still in progress, its context built; else None.

    A reply that already has text is being continued (services.message_continue): a new
    reply starts empty. Its text goes into the context and starts gen.text, so new deltas
    are appended to it, and the renderer starts from it.
    """
    reply = (
        Message.objects.select_related("conversation__project")
        .filter(pk=message_id, status=Message.Status.IN_PROGRESS)
        .first()
    )
    if reply is None:
        cache.delete(alive_key(message_id))
        return None
    conversation = reply.conversation
    model = reply.model or settings.CHAT_MODELS[0]
    prefix = reply.content
    context, title_source = build_context(
        conversation=conversation, leaf_id=reply.pk if prefix else reply.parent_id, model=model
    )
    gen = Generation(
        message_id=reply.pk,
        public_id=reply.public_id,
        conversation_id=conversation.pk,
        conversation_public_id=conversation.public_id,
        owner_id=conversation.owner_id,
        model=model,
        context=continue_context(context, model=model) if prefix else context,
        title_source=title_source if not conversation.title else "",
        text=prefix,
        prefix=prefix,
        published=prefix,
        prior_tokens=(reply.input_tokens, reply.output_tokens),
    )
    if prefix:
        gen.renderer.resume(prefix)
    return gen


def replies_flush(
    message_ids: list[int], texts: dict[int, str], beat: bool = False
) -> dict[int, str]:
    """Write streaming replies' new partial text in one UPDATE; return those that must stop.

    `message_ids` are the replies streaming in this process, `texts` the new text of those
    that have some; with `beat`, every one's liveness key is refreshed too (one cache call,
    before the write, so a failed write does not make a live engine look dead). A reply
    must stop when a process whose event never reached this one set its stop flag (the
    value, if text, is the status line), or when its row was ended meanwhile (Stop with no
    engine in sight, the sweeper): the map gives the reason or "".
    """
    if beat:
        mark_alive_many(message_ids)
    flags = cache.get_many([stop_key(pk) for pk in message_ids])
    stops = {}
    for pk in message_ids:
        flag = flags.get(stop_key(pk))
        if flag is not None:
            stops[pk] = flag if isinstance(flag, str) else ""
    writes = {pk: text for pk, text in texts.items() if pk not in stops}
    if not writes:
        return stops
    # Plain SQL: the ORM's CASE of a hundred WHENs took longer to build than the statement
    # takes to run, every flush, on a thread that holds the GIL the relaying loop needs.
    # RETURNING names the rows still streaming (PostgreSQL, SQLite 3.35+).
    ids = list(writes)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(Message._meta.db_table)} SET content = CASE id"
            f"{' WHEN %s THEN %s' * len(ids)} END, updated_at = %s "
            f"WHERE id IN ({', '.join(['%s'] * len(ids))}) AND status = %s RETURNING id",
            [
                *(value for pk in ids for value in (pk, writes[pk])),
                connection.ops.adapt_datetimefield_value(timezone.now()),
                *ids,
                Message.Status.IN_PROGRESS,
            ],
        )
        still = {pk for (pk,) in cursor.fetchall()}
    stops.update((pk, "") for pk in ids if pk not in still)
    return stops


def reply_finish(gen: Generation, status: str, reason: str) -> tuple[str, str]:
    """Store the reply's text, final status and usage, and update the conversation.

    Return the final status and the final frame: the canonical message partial rendered
    once for every socket, CSRF_PLACEHOLDER where the token goes ("" if it could not be
    rendered: sockets then load the stored reply themselves).
    """
    usage = gen.usage or Usage()
    input_tokens = usage.input_tokens
    if input_tokens is None:
        input_tokens = sum(estimate_tokens(m["content"]) for m in gen.context)
    output_tokens = usage.output_tokens
    if output_tokens is None:
        output_tokens = estimate_tokens(gen.text[len(gen.prefix) :])
    prior_input, prior_output = gen.prior_tokens
    now = timezone.now()
    gen.flushes += 1
    # Rendered once here, outside the row lock; a page load then only reads it.
    html, html_source = message_html(gen.text), gen.text
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=gen.conversation_id)
        reply = Message.objects.select_for_update().get(pk=gen.message_id)
        if reply.status == Message.Status.IN_PROGRESS:
            reply.status = status
            reply.status_reason = reason[:500]
        elif len(reply.content) > len(gen.text):
            # Ended elsewhere (Stop with no engine in sight, the sweeper) with more text.
            gen.text = reply.content
        reply.content = gen.text
        reply.content_html = html if html_source == gen.text else message_html(gen.text)
        reply.render_version = RENDER_VERSION
        # A continued reply adds this call's tokens to those its earlier text cost.
        reply.input_tokens = prior_input + input_tokens
        reply.output_tokens = prior_output + output_tokens
        reply.call_id = (usage.call_id or reply.call_id)[:100]
        reply.updated_at = now
        reply.save(
            update_fields=[
                "content",
                "content_html",
                "render_version",
                "status",
                "status_reason",
                "input_tokens",
                "output_tokens",
                "call_id",
                "updated_at",
            ]
        )
        conversation_counters_update(
            conversation,
            tokens=input_tokens + output_tokens,
            preview_text=gen.text or None,
            now=now,
        )
    cache.delete_many([alive_key(gen.message_id), stop_key(gen.message_id)])
    reply.conversation = conversation
    try:
        html = message_render(message=reply, conversation=conversation, csrf_token=CSRF_PLACEHOLDER)
    except Exception:  # noqa: BLE001 - the reply is stored; only its frame is missing
        logger.exception("Could not render the final frame of %s", gen.public_id)
        html = ""
    return reply.status, html


MESSAGE_TEMPLATE = "conversations/_message.html"

# Rendered in the token's place once for every socket; each socket puts its own token there.
# Only the partial's own hidden inputs carry it: nh3 drops <input> from message text.
CSRF_PLACEHOLDER = "__csrf_token__"
CSRF_FIELD = f'name="csrfmiddlewaretoken" value="{CSRF_PLACEHOLDER}"'


def message_render(*, message: Message, conversation: Conversation, csrf_token: str = "") -> str:
    """Render a message through the canonical partial, as the thread on a page load does."""
    positions = message_sibling_positions(conversation=conversation, messages=[message])
    position, count = positions.get(message.pk, (1, 1))
    return render_to_string(
        MESSAGE_TEMPLATE,
        {
            "message": message,
            "conversation": conversation,
            "position": position,
            "count": count,
            "csrf_token": csrf_token,
        },
    )


CREATED_TEMPLATE = "conversations/chat.html#messages-created-oob"


def messages_created_render(
    *, conversation: Conversation, messages: list[Message], replaces: str = ""
) -> str:
    """Render new messages once for every socket, CSRF_PLACEHOLDER where the token goes."""
    positions = message_sibling_positions(conversation=conversation, messages=messages)
    entries = [(m, *positions.get(m.pk, (1, 1))) for m in messages]
    return render_to_string(
        CREATED_TEMPLATE,
        {"entries": entries, "replaces": replaces, "csrf_token": CSRF_PLACEHOLDER},
    )


def conversation_save_title(conversation_id: int, title: str) -> bool:
    """Title an untitled conversation; return False if it was titled meanwhile."""
    # Only an untitled conversation: a rename meanwhile wins.
    return bool(Conversation.objects.filter(pk=conversation_id, title="").update(title=title))


def sweep_generations(*, older_than: float, dry_run: bool = False) -> int:
    """Mark replies left `in_progress` by a dead process as incomplete; return how many."""
    cutoff = timezone.now() - timedelta(seconds=older_than)
    candidates = Message.objects.filter(
        status=Message.Status.IN_PROGRESS, updated_at__lt=cutoff
    ).values_list("pk", flat=True)
    dead = [pk for pk in candidates if not is_running(pk)]
    if dry_run or not dead:
        return len(dead)
    now = timezone.now()
    with transaction.atomic():
        # The status condition again: a reply that ended meanwhile keeps its own status.
        rows = list(
            Message.objects.select_for_update()
            .filter(pk__in=dead, status=Message.Status.IN_PROGRESS)
            .only("pk", "content")
        )
        for row in rows:
            row.status = Message.Status.INCOMPLETE
            row.status_reason = ABANDONED_REASON
            row.updated_at = now
            # Its text is final now: rendered once, like a reply that ended itself.
            row.content_html = message_html(row.content)
            row.render_version = RENDER_VERSION
        Message.objects.bulk_update(
            rows,
            ["status", "status_reason", "updated_at", "content_html", "render_version"],
            batch_size=500,
        )
    return len(rows)


def sweep_at_startup() -> None:
    """Run the sweep when a server process starts (daphne or runserver), never in tests."""
    program = sys.argv[0] if sys.argv else ""
    is_server = "daphne" in program or sys.argv[1:2] == ["runserver"]
    if not is_server or "pytest" in sys.modules:
        return
    try:
        # Replies of live engines in other processes keep a heartbeat and are skipped.
        count = sweep_generations(older_than=0)
    except DatabaseError as exc:
        logger.warning("Could not sweep abandoned replies at start-up: %s", exc)
        return
    finally:
        close_old_connections()
    if count:
        logger.info("Marked %s abandoned replies as incomplete.", count)
