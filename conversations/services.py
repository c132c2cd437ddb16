"""Writes to conversations and messages; every door (HTML, DRF, /v1, websocket) calls these."""

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from conversations import engine, selectors
from conversations.counters import KEEP, apply_counters, conversation_counters_update
from conversations.models import (
    FEEDBACK_COMMENT_MAX_CHARS,
    METADATA_MAX_KEY_CHARS,
    METADATA_MAX_KEYS,
    METADATA_MAX_VALUE_CHARS,
    TITLE_MAX_CHARS,
    Conversation,
    Message,
)
from conversations.rendering import RENDER_VERSION, message_html
from core import events
from core.errors import DomainError
from core.text import clean_metadata, clean_text

logger = logging.getLogger(__name__)

MESSAGE_BATCH_SIZE = 500


class ConversationError(DomainError):
    """A request the conversation's state refuses; `code` names the reason for every door."""

    code = "conversation_error"


class ConversationNotOpen(ConversationError):
    status_code = 403
    error_type = "permission_error"
    code = "conversation_not_open"


class GenerationInProgress(ConversationError):
    status_code = 409
    error_type = "conflict_error"
    code = "generation_in_progress"


class ConversationFull(ConversationError):
    code = "conversation_full"


class MessageTooLong(ConversationError):
    status_code = 413
    code = "message_too_long"


class FeedbackRefused(ConversationError):
    """A rating that is not up/down, or one given to anything but a finished reply."""

    code = "invalid_feedback"


@dataclass(frozen=True)
class SendResult:
    user_message: Message
    assistant_message: Message
    created: bool


def validate_title(title: str) -> str:
    """Return the trimmed title or raise ValidationError."""
    clean_text(title or "", field="title", allow_empty=True)
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": "Enter a title."})
    if len(title) > TITLE_MAX_CHARS:
        raise ValidationError({"title": f"Keep the title to {TITLE_MAX_CHARS} characters."})
    return title


def validate_metadata(metadata) -> dict:
    """Return metadata if it is a map of at most 16 short clean string pairs, else raise."""
    return clean_metadata(
        metadata,
        max_keys=METADATA_MAX_KEYS,
        max_key_chars=METADATA_MAX_KEY_CHARS,
        max_value_chars=METADATA_MAX_VALUE_CHARS,
    )


def validate_model(model: str | None) -> str:
    """Return the model to use: the given one if configured, else the default."""
    if not model:
        return settings.CHAT_MODELS[0]
    if model not in settings.CHAT_MODELS:
        raise ValidationError(
            {"model": f"Unknown model. Choose one of: {', '.join(settings.CHAT_MODELS)}."}
        )
    return model


def validate_content(content: str) -> str:
    """Return content if it is clean, non-blank text within MAX_MESSAGE_CHARS, else raise."""
    if not isinstance(content, str) or not content.strip():
        raise ValidationError({"content": "Type a message."})
    clean_text(content, field="content")
    if len(content) > settings.MAX_MESSAGE_CHARS:
        raise MessageTooLong(
            f"Messages are at most {settings.MAX_MESSAGE_CHARS:,} characters "
            f"(this one has {len(content):,})."
        )
    return content


def conversation_create(
    *, owner, title: str = "", project=None, metadata: dict | None = None
) -> Conversation:
    """Create an empty conversation for owner."""
    if project is not None and project.owner_id != owner.pk:
        raise ValidationError({"project": "No such project."})
    conversation = Conversation.objects.create(
        owner=owner,
        title=validate_title(title) if title else "",
        project=project,
        metadata=validate_metadata(metadata or {}),
    )
    events.sidebar_changed(
        user_id=owner.pk, conversation_public_id=conversation.public_id, action="created"
    )
    return conversation


def _save(conversation: Conversation, fields: list[str], action: str) -> Conversation:
    with transaction.atomic():
        conversation.save(update_fields=fields)
        events.sidebar_changed(
            user_id=conversation.owner_id,
            conversation_public_id=conversation.public_id,
            action=action,
        )
    return conversation


def conversation_rename(*, conversation: Conversation, title: str) -> Conversation:
    conversation.title = validate_title(title)
    return _save(conversation, ["title"], "renamed")


def conversation_set_pinned(*, conversation: Conversation, pinned: bool) -> Conversation:
    conversation.pinned_at = timezone.now() if pinned else None
    return _save(conversation, ["pinned_at"], "pinned" if pinned else "unpinned")


def conversation_set_archived(*, conversation: Conversation, archived: bool) -> Conversation:
    conversation.archived_at = timezone.now() if archived else None
    return _save(conversation, ["archived_at"], "archived" if archived else "unarchived")


def conversation_set_metadata(*, conversation: Conversation, metadata: dict) -> Conversation:
    conversation.metadata = validate_metadata(metadata)
    return _save(conversation, ["metadata"], "updated")


def conversation_set_project(*, conversation: Conversation, project) -> Conversation:
    if project is not None and project.owner_id != conversation.owner_id:
        raise ValidationError({"project": "No such project."})
    conversation.project = project
    return _save(conversation, ["project"], "moved")


def conversation_delete(*, conversation: Conversation) -> None:
    """Delete a conversation; its messages and share links go with it in the database."""
    with transaction.atomic():
        events.sidebar_changed(
            user_id=conversation.owner_id,
            conversation_public_id=conversation.public_id,
            action="deleted",
        )
        Conversation.objects.filter(pk=conversation.pk).delete()


def message_send(
    *,
    conversation: Conversation,
    content: str,
    client_id: str | None = None,
    model: str | None = None,
) -> SendResult:
    """Save a user message under the active leaf, create its reply `in_progress`, start it.

    Repeating a send with the same client_id returns the first result and creates nothing.
    """
    content = validate_content(content)
    model = validate_model(model)
    try:
        with transaction.atomic():
            conv = Conversation.objects.select_for_update().get(pk=conversation.pk)
            if client_id:
                existing = Message.objects.filter(conversation=conv, client_id=client_id).first()
                if existing is not None:
                    reply = existing.children.order_by("created_at", "id").first()
                    return SendResult(existing, reply, created=False)
            result = _append_turn(
                conv,
                parent_id=conv.current_message_id,
                content=content,
                client_id=client_id,
                model=model,
            )
    except IntegrityError:
        # The database saw a concurrent duplicate or a concurrent generation first.
        if client_id:
            existing = Message.objects.filter(
                conversation=conversation, client_id=client_id
            ).first()
            if existing is not None:
                reply = existing.children.order_by("created_at", "id").first()
                return SendResult(existing, reply, created=False)
        raise GenerationInProgress(
            "A reply is still being generated in this conversation. Wait for it or stop it."
        ) from None
    conversation.refresh_from_db()
    return result


def conversation_check_open(conversation: Conversation) -> None:
    """Raise ConversationNotOpen unless the conversation accepts new messages."""
    if conversation.status != Conversation.Status.ACTIVE:
        reason = f": {conversation.status_reason}" if conversation.status_reason else "."
        raise ConversationNotOpen(f"This conversation is {conversation.status}{reason}")


def conversation_check_idle(conversation: Conversation) -> None:
    """Raise GenerationInProgress while a reply is being generated."""
    if Message.objects.filter(
        conversation=conversation, status=Message.Status.IN_PROGRESS
    ).exists():
        raise GenerationInProgress(
            "A reply is still being generated in this conversation. Wait for it or stop it."
        )


def conversation_check_writable(conv: Conversation, *, adding: int) -> None:
    """Raise unless `adding` messages may be written now: open, not full, no reply running."""
    conversation_check_open(conv)
    if conv.message_count + adding > settings.MAX_MESSAGES_PER_CONVERSATION:
        raise ConversationFull(
            f"This conversation has reached {settings.MAX_MESSAGES_PER_CONVERSATION:,} "
            "messages. Start a new chat to continue."
        )
    conversation_check_idle(conv)


@dataclass(frozen=True)
class NewMessage:
    """A message to write: what the caller knows; the writer adds ids and parent links."""

    role: str
    content: str = ""
    status: str = Message.Status.COMPLETED
    status_reason: str = ""
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    call_id: str = ""
    client_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # HTML already rendered from `content` at RENDER_VERSION (a copy); None renders it here.
    content_html: str | None = None
    # Carried by an import only; a new reply has none.
    feedback_rating: str = ""
    feedback_comment: str = ""
    feedback_at: datetime | None = None


def _stored_html(item: NewMessage) -> tuple[str, int]:
    """Return the HTML to store with a new message and its renderer version.

    A reply still streaming has no final text yet: the engine renders it when it ends.
    """
    if item.status == Message.Status.IN_PROGRESS:
        return "", 0
    if item.content_html is not None:
        return item.content_html, RENDER_VERSION
    return message_html(item.content), RENDER_VERSION


def _reserve_message_ids(count: int) -> list[int]:
    """Return `count` unused message primary keys (call inside the writing transaction).

    Knowing ids up front lets one INSERT carry every parent link. PostgreSQL hands them out
    from the sequence; SQLite's write lock (transactions begin IMMEDIATE) is held already,
    so the ids after the largest ever used stay free until commit.
    """
    table = Message._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"SELECT MAX(n) FROM (SELECT MAX(id) AS n FROM {table} "
            "UNION ALL SELECT seq FROM sqlite_sequence WHERE name = %s)",
            [table],
        )
        start = (cursor.fetchone()[0] or 0) + 1
    return list(range(start, start + count))


def message_chain_append(
    *,
    conversation: Conversation,
    parent: Message | int | None,
    messages: list[NewMessage],
    parents: list[int | None] | None = None,
    leaf: int = -1,
    now=None,
    notify: bool = True,
) -> list[Message]:
    """Write messages under `parent` as a chain and update the counters (caller's transaction).

    The one way messages are written: send, regenerate, edit, append, a continued share and
    an import. By default each message hangs under the one before it and the last becomes
    the active leaf; an import passes `parents` (for each message the index of its parent in
    the batch, or None for `parent`) and the index of its `leaf`. `now` stamps rows without
    their own times and the conversation's updated_at (None keeps updated_at). An unsaved
    `conversation` (an import) is inserted here, its counters set.
    Queries: reserve ids (more than one message, or a new conversation), the conversation's
    INSERT (a new one), the messages' INSERTs (500 a statement), the counters' UPDATE.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("Write messages inside the transaction that checked the conversation.")
    if not messages:
        if conversation._state.adding:
            conversation.save(force_insert=True)
        return []
    stamp = now or timezone.now()
    parent_id = parent.pk if isinstance(parent, Message) else parent
    # A new (unsaved) conversation is inserted with its counters and leaf already set: foreign
    # keys are checked at commit, so it may name its current message before that row exists.
    adding = conversation._state.adding
    many = len(messages) > 1 or adding
    ids = _reserve_message_ids(len(messages)) if many else [None]
    rows = []
    for index, item in enumerate(messages):
        if parents is None:
            up = index - 1 if index else None
        else:
            up = parents[index]
            if up is not None and not 0 <= up < index:
                raise ValueError("A message must come after its parent.")
        content_html, render_version = _stored_html(item)
        rows.append(
            Message(
                id=ids[index],
                conversation=conversation,
                parent_id=parent_id if up is None else ids[up],
                role=item.role,
                content=item.content,
                content_html=content_html,
                render_version=render_version,
                status=item.status,
                status_reason=item.status_reason,
                model=item.model,
                input_tokens=item.input_tokens,
                output_tokens=item.output_tokens,
                call_id=item.call_id,
                client_id=item.client_id,
                created_at=item.created_at or stamp,
                updated_at=item.updated_at or item.created_at or stamp,
                feedback_rating=item.feedback_rating,
                feedback_comment=item.feedback_comment,
                feedback_at=item.feedback_at,
            )
        )
    if parents is None:
        for above, row in zip(rows, rows[1:], strict=False):
            row.parent = above
    newest = rows[leaf]
    # The sidebar shows the latest text: what the user asked until the reply has some.
    texts = [newest.content] if parents is not None else [row.content for row in rows]
    counters = {
        "messages": len(rows),
        "tokens": sum(row.total_tokens for row in rows),
        "leaf": newest,
        "preview_text": next((text for text in reversed(texts) if text), None),
        "now": now,
    }
    if adding:
        apply_counters(conversation, **counters)
        conversation.save(force_insert=True)
        for row in rows:
            row.conversation = conversation
    if many:
        Message.objects.bulk_create(rows, batch_size=MESSAGE_BATCH_SIZE)
    else:
        rows[0].save(force_insert=True)
    if not adding:
        conversation_counters_update(conversation, **counters, notify=notify)
    return rows


def _append_turn(
    conv: Conversation,
    *,
    parent_id: int | None,
    content: str,
    client_id: str | None,
    model: str,
    replaces: str = "",
) -> SendResult:
    """Add a user message under parent_id and its in-progress reply (caller holds the row lock)."""
    conversation_check_writable(conv, adding=2)
    user_message, reply = message_chain_append(
        conversation=conv,
        parent=parent_id,
        messages=[
            NewMessage(role=Message.Role.USER, content=content, client_id=client_id),
            NewMessage(role=Message.Role.ASSISTANT, status=Message.Status.IN_PROGRESS, model=model),
        ],
        leaf=-1,
        now=timezone.now(),
    )
    _messages_created(conv, [user_message, reply], replaces=replaces)
    transaction.on_commit(lambda: _start_generation(reply.pk))
    return SendResult(user_message, reply, created=True)


def _messages_created(conv: Conversation, messages: list[Message], *, replaces: str) -> None:
    """Tell every tab on the conversation about new messages, their frame rendered once here."""
    events.messages_created(
        conversation_public_id=conv.public_id,
        message_ids=[m.public_id for m in messages],
        replaces=replaces,
        html=engine.messages_created_render(
            conversation=conv, messages=messages, replaces=replaces
        ),
    )


def _start_generation(message_id: int) -> None:
    engine.start_generation(message_id)


def message_append(
    *,
    conversation: Conversation,
    role: str,
    content: str,
    model: str = "",
    parent: Message | None = None,
) -> Message:
    """Add a finished message under the active leaf (or `parent`) without generating a reply."""
    if role not in Message.Role.values:
        raise ValidationError({"role": f"Role must be one of: {', '.join(Message.Role.values)}."})
    content = validate_content(content)
    with transaction.atomic():
        conv = Conversation.objects.select_for_update().get(pk=conversation.pk)
        conversation_check_writable(conv, adding=1)
        (message,) = message_chain_append(
            conversation=conv,
            parent=parent if parent is not None else conv.current_message_id,
            messages=[NewMessage(role=role, content=content, model=model)],
            now=timezone.now(),
        )
    conversation.refresh_from_db()
    return message


def message_delete(*, message: Message) -> None:
    """Delete a message and every reply below it; the active leaf moves up if it was among them."""
    with transaction.atomic():
        conv = Conversation.objects.select_for_update().get(pk=message.conversation_id)
        conversation_check_open(conv)
        conversation_check_idle(conv)
        doomed = selectors.message_subtree_ids(message=message)
        doomed_messages = Message.objects.filter(pk__in=doomed)
        tokens = doomed_messages.aggregate(
            total=Coalesce(Sum(F("input_tokens") + F("output_tokens")), 0)
        )["total"]
        leaf, preview_text = KEEP, None
        if conv.current_message_id in doomed:
            leaf = message.parent_id
            preview_text = (
                Message.objects.filter(pk=leaf).values_list("content", flat=True).first() or ""
            )
        conversation_counters_update(
            conv, messages=-len(doomed), tokens=-tokens, leaf=leaf, preview_text=preview_text
        )
        # Share links of these messages go with them in the database.
        doomed_messages.unthread()
        doomed_messages.delete()


GENERATION_BUSY = "A reply is still being generated in this conversation. Wait for it or stop it."


def _existing_turn(conversation: Conversation, client_id: str | None) -> SendResult | None:
    """Return the turn an earlier send with this client_id created, if any."""
    if not client_id:
        return None
    existing = Message.objects.filter(conversation=conversation, client_id=client_id).first()
    if existing is None:
        return None
    reply = existing.children.order_by("created_at", "id").first()
    return SendResult(existing, reply, created=False)


# How long Stop waits for an engine in another process to obey before ending the reply
# itself: a live engine ends it within milliseconds; one whose process just died never will
# (its heartbeat key can outlive it by GENERATION_HEARTBEAT_TTL).
STOP_CONFIRM_SECONDS = 0.6


def message_stop(*, message: Message, reason: str = "") -> Message:
    """Stop the reply being generated; the text streamed so far is kept (status `stopped`).

    The engine running it, in whichever process, is told to stop; with no engine alive, or
    one in another process that has not obeyed within STOP_CONFIRM_SECONDS, the row is marked
    stopped here, so Stop takes effect within a second even just after a process died (an
    engine that was only slow and ends later keeps its longer text, see engine.store).
    `reason` is the reply's status line (default: stopped by the user); a moderator's lock or
    close passes its own.
    """
    from django.core.cache import cache

    with transaction.atomic():
        reply = Message.objects.select_for_update().get(pk=message.pk)
        if reply.status != Message.Status.IN_PROGRESS:
            return reply
        if not engine.is_running(reply.pk):
            return _reply_stop_here(reply, reason)
        # Seen by the engine at its next flush even if the event below is lost.
        # The flag carries the status line, so a lost event still stops with the reason.
        cache.set(
            engine.stop_key(reply.pk),
            reason or engine.STOPPED_REASON,
            timeout=settings.GENERATION_TIMEOUT * 2 + 60,
        )
        events.generation_stop(message_public_id=reply.public_id, reason=reason)
    if engine.runs_here(reply.pk) or transaction.get_connection().in_atomic_block:
        return reply
    deadline = time.monotonic() + STOP_CONFIRM_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if not Message.objects.filter(pk=reply.pk, status=Message.Status.IN_PROGRESS).exists():
            return Message.objects.get(pk=reply.pk)
    with transaction.atomic():
        reply = Message.objects.select_for_update().get(pk=reply.pk)
        if reply.status != Message.Status.IN_PROGRESS:
            return reply
        logger.warning("No engine obeyed Stop of %s; stopping it here.", reply.public_id)
        return _reply_stop_here(reply, reason)


def _reply_stop_here(reply: Message, reason: str) -> Message:
    """Mark an in-progress reply stopped, keeping its text, and tell every tab."""
    conversation = Conversation.objects.only("public_id").get(pk=reply.conversation_id)
    reply.status = Message.Status.STOPPED
    reply.status_reason = (reason or engine.STOPPED_REASON)[:500]
    reply.updated_at = timezone.now()
    reply.content_html = message_html(reply.content)
    reply.render_version = RENDER_VERSION
    reply.save(
        update_fields=["status", "status_reason", "updated_at", "content_html", "render_version"]
    )
    events.generation_done(
        conversation_public_id=conversation.public_id,
        message_public_id=reply.public_id,
        status=reply.status,
    )
    return reply


def message_regenerate(*, message: Message, model: str | None = None) -> SendResult:
    """Generate a new reply next to `message` (a reply) or under it (a user message).

    The new reply is a sibling of the old ones and becomes the active branch.
    """
    with transaction.atomic():
        conv = Conversation.objects.select_for_update().get(pk=message.conversation_id)
        message = Message.objects.get(pk=message.pk)
        if message.role == Message.Role.USER:
            prompt, replaces = message, ""
        else:
            prompt = message.parent
            replaces = message.public_id
            if prompt is None or prompt.role != Message.Role.USER:
                raise ValidationError(
                    {"message": "Only a reply to a user message can be regenerated."}
                )
        if model is None and message.role == Message.Role.ASSISTANT:
            model = message.model if message.model in settings.CHAT_MODELS else None
        model = validate_model(model)
        conversation_check_writable(conv, adding=1)
        try:
            with transaction.atomic():
                (reply,) = message_chain_append(
                    conversation=conv,
                    parent=prompt,
                    messages=[
                        NewMessage(
                            role=Message.Role.ASSISTANT,
                            status=Message.Status.IN_PROGRESS,
                            model=model,
                        )
                    ],
                    now=timezone.now(),
                )
        except IntegrityError:
            raise GenerationInProgress(GENERATION_BUSY) from None
        _messages_created(conv, [reply], replaces=replaces)
        transaction.on_commit(lambda: _start_generation(reply.pk))
    return SendResult(prompt, reply, created=True)


class MessageNotContinuable(ConversationError):
    status_code = 409
    error_type = "conflict_error"
    code = "message_not_continuable"


def message_continue(*, user, message: Message) -> Message:
    """Make a reply that ended early grow in place: the same message, back `in_progress`.

    Only the active leaf, an assistant reply that stopped, was cut off or failed with text,
    can go on; the engine starts from its stored text (see engine.store.reply_prepare). No
    message is added, so only the conversation's open and idle checks apply.
    """
    with transaction.atomic():
        conv = Conversation.objects.select_for_update().get(pk=message.conversation_id)
        if conv.owner_id != user.pk:
            raise ValidationError({"message": "No such message."})
        reply = Message.objects.select_for_update().get(pk=message.pk)
        conversation_check_open(conv)
        conversation_check_idle(conv)
        if not selectors.message_continuable(message=reply, conversation=conv):
            raise MessageNotContinuable(
                "Only the last reply, stopped or cut off with some text, can be continued."
            )
        reply.status = Message.Status.IN_PROGRESS
        reply.status_reason = ""
        # A model no longer offered cannot go on; the default one picks up the text.
        reply.model = validate_model(reply.model if reply.model in settings.CHAT_MODELS else None)
        reply.updated_at = timezone.now()
        try:
            with transaction.atomic():
                reply.save(update_fields=["status", "status_reason", "model", "updated_at"])
        except IntegrityError:
            raise GenerationInProgress(GENERATION_BUSY) from None
        conversation_counters_update(conv, now=reply.updated_at)
        # Every tab swaps the ended reply for its running copy, then follows its frames.
        _messages_created(conv, [reply], replaces=reply.public_id)
        transaction.on_commit(lambda: _start_generation(reply.pk))
    return reply


def message_edit(
    *,
    message: Message,
    content: str,
    client_id: str | None = None,
    model: str | None = None,
) -> SendResult:
    """Add an edited copy of a user message as its sibling, with a new reply.

    The original message and everything below it stay reachable through the arrows.
    """
    if message.role != Message.Role.USER:
        raise ValidationError({"message": "Only your own messages can be edited."})
    content = validate_content(content)
    model = validate_model(model)
    try:
        with transaction.atomic():
            conv = Conversation.objects.select_for_update().get(pk=message.conversation_id)
            if (existing := _existing_turn(conv, client_id)) is not None:
                return existing
            result = _append_turn(
                conv,
                parent_id=message.parent_id,
                content=content,
                client_id=client_id,
                model=model,
                replaces=message.public_id,
            )
    except IntegrityError:
        conversation = Conversation.objects.get(pk=message.conversation_id)
        if (existing := _existing_turn(conversation, client_id)) is not None:
            return existing
        raise GenerationInProgress(GENERATION_BUSY) from None
    return result


def conversation_switch_branch(*, conversation: Conversation, message: Message) -> Message:
    """Make the newest leaf below `message` the active one; return that leaf.

    The choice is stored on the conversation, so it survives reloads and shows in every tab.
    """
    if message.conversation_id != conversation.pk:
        raise ValidationError({"message": "No such message in this conversation."})
    with transaction.atomic():
        conv = Conversation.objects.select_for_update().get(pk=conversation.pk)
        conversation_check_open(conv)
        conversation_check_idle(conv)
        leaf_id = selectors.message_newest_leaf_id(message=message)
        conv.current_message_id = leaf_id
        conv.save(update_fields=["current_message"])
        events.thread_changed(conversation_public_id=conv.public_id)
    conversation.current_message_id = leaf_id
    return Message.objects.get(pk=leaf_id)


BRANCH_SUFFIX = " (branch)"


def conversation_branch(*, message: Message, user) -> Conversation:
    """Copy the path up to `message` into a new conversation of `user` in the same project."""
    source = message.conversation
    if source.owner_id != user.pk:
        raise ValidationError({"message": "No such message."})
    path = selectors.message_path(
        conversation=source, leaf_id=message.pk, limit=settings.MAX_MESSAGES_PER_CONVERSATION
    )
    base = (source.title or "New chat")[: TITLE_MAX_CHARS - len(BRANCH_SUFFIX)]
    return conversation_copy_messages(
        owner=user, title=base + BRANCH_SUFFIX, project=source.project, messages=path
    )


def conversation_copy_messages(
    *, owner, title: str, messages: list[Message], project=None, keep_models: bool = True
) -> Conversation:
    """Create a conversation of `owner` holding copies of `messages` as one chain.

    Branching and a continued share both copy this way; a copy never waits on a generation
    running in the original, and `keep_models=False` hides which model wrote each reply.
    """
    with transaction.atomic():
        conversation = conversation_create(owner=owner, title=title, project=project)
        message_chain_append(
            conversation=conversation,
            parent=None,
            messages=[
                NewMessage(
                    role=original.role,
                    content=original.content,
                    status=(
                        Message.Status.INCOMPLETE
                        if original.status == Message.Status.IN_PROGRESS
                        else original.status
                    ),
                    status_reason=original.status_reason,
                    model=original.model if keep_models else "",
                    input_tokens=original.input_tokens,
                    output_tokens=original.output_tokens,
                    # The original's HTML when it is current: a copy renders nothing.
                    content_html=(
                        original.content_html
                        if original.render_version == RENDER_VERSION
                        and original.status != Message.Status.IN_PROGRESS
                        else None
                    ),
                )
                for original in messages
            ],
            now=timezone.now(),
        )
    return conversation


def message_feedback_set(
    *, user, message: Message, rating: str | None, comment: str = ""
) -> Message:
    """Rate a finished reply "up" or "down" with an optional comment; None or "" clears both.

    Only the conversation's owner reaches a message, so the rating lives on the row. It is
    not a new message: a locked or closed conversation can still be rated. One UPDATE.
    """
    if message.conversation.owner_id != user.pk:
        raise FeedbackRefused("No such message.", param="message")
    if message.role != Message.Role.ASSISTANT or message.status == Message.Status.IN_PROGRESS:
        raise FeedbackRefused(
            "Only a finished reply of the assistant can be rated.", param="message"
        )
    if rating in (None, ""):
        rating, comment = "", ""
    elif rating not in Message.Rating.values:
        raise FeedbackRefused('The rating is "up" or "down".', param="rating")
    comment = clean_text(
        comment or "", field="comment", max_chars=FEEDBACK_COMMENT_MAX_CHARS, allow_empty=True
    ).strip()
    message.feedback_rating = rating
    message.feedback_comment = comment
    message.feedback_at = timezone.now() if rating else None
    message.save(update_fields=["feedback_rating", "feedback_comment", "feedback_at"])
    return message
