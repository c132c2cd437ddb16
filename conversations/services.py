"""Writes to conversations and messages; every door (HTML, DRF, /v1, websocket) calls these."""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from conversations import selectors
from conversations.models import (
    METADATA_MAX_KEY_CHARS,
    METADATA_MAX_KEYS,
    METADATA_MAX_VALUE_CHARS,
    PREVIEW_MAX_CHARS,
    TITLE_MAX_CHARS,
    Conversation,
    Message,
)
from core import events
from core.errors import DomainError


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


@dataclass(frozen=True)
class SendResult:
    user_message: Message
    assistant_message: Message
    created: bool


def make_preview(text: str) -> str:
    """Return the first line of text, shortened for the sidebar."""
    line = " ".join(text.split())
    if len(line) <= PREVIEW_MAX_CHARS:
        return line
    return line[: PREVIEW_MAX_CHARS - 1].rstrip() + "…"


def validate_title(title: str) -> str:
    """Return the trimmed title or raise ValidationError."""
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": "Enter a title."})
    if len(title) > TITLE_MAX_CHARS:
        raise ValidationError({"title": f"Keep the title to {TITLE_MAX_CHARS} characters."})
    return title


def validate_metadata(metadata) -> dict:
    """Return metadata if it is a map of at most 16 short string pairs, else raise."""
    if not isinstance(metadata, dict):
        raise ValidationError({"metadata": "Metadata must be an object of strings."})
    if len(metadata) > METADATA_MAX_KEYS:
        raise ValidationError({"metadata": f"At most {METADATA_MAX_KEYS} metadata keys."})
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValidationError({"metadata": "Metadata keys and values must be strings."})
        if len(key) > METADATA_MAX_KEY_CHARS:
            raise ValidationError(
                {"metadata": f"Metadata keys are at most {METADATA_MAX_KEY_CHARS} characters."}
            )
        if len(value) > METADATA_MAX_VALUE_CHARS:
            raise ValidationError(
                {"metadata": f"Metadata values are at most {METADATA_MAX_VALUE_CHARS} characters."}
            )
    return metadata


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
    if not isinstance(content, str) or not content.strip():
        raise ValidationError({"content": "Type a message."})
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


def _advance_leaf(
    conv: Conversation, *, leaf: Message, added: int, now, preview_text: str | None = None
) -> None:
    """Make `leaf` the active leaf and update the sidebar's denormalized fields in one write."""
    conv.current_message = leaf
    conv.message_count += added
    conv.updated_at = now
    fields = ["current_message", "message_count", "updated_at"]
    if preview_text is not None:
        conv.preview = make_preview(preview_text)
        fields.append("preview")
    conv.save(update_fields=fields)
    events.sidebar_changed(
        user_id=conv.owner_id, conversation_public_id=conv.public_id, action="updated"
    )


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
    now = timezone.now()
    user_message = Message.objects.create(
        conversation=conv,
        parent_id=parent_id,
        role=Message.Role.USER,
        content=content,
        client_id=client_id,
        created_at=now,
        updated_at=now,
    )
    reply = Message.objects.create(
        conversation=conv,
        parent=user_message,
        role=Message.Role.ASSISTANT,
        status=Message.Status.IN_PROGRESS,
        model=model,
        created_at=now,
        updated_at=now,
    )
    _advance_leaf(conv, leaf=reply, added=2, now=now, preview_text=content)
    events.messages_created(
        conversation_public_id=conv.public_id,
        message_ids=[user_message.public_id, reply.public_id],
        replaces=replaces,
    )
    transaction.on_commit(lambda: _start_generation(reply.pk))
    return SendResult(user_message, reply, created=True)


def _start_generation(message_id: int) -> None:
    from conversations import generation

    generation.start_generation(message_id)


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
        now = timezone.now()
        message = Message.objects.create(
            conversation=conv,
            parent_id=parent.pk if parent is not None else conv.current_message_id,
            role=role,
            content=content,
            model=model,
            created_at=now,
            updated_at=now,
        )
        _advance_leaf(conv, leaf=message, added=1, now=now, preview_text=content)
    conversation.refresh_from_db()
    return message


def message_delete(*, message: Message) -> None:
    """Delete a message and every reply below it; the active leaf moves up if it was among them."""
    with transaction.atomic():
        conv = Conversation.objects.select_for_update().get(pk=message.conversation_id)
        conversation_check_open(conv)
        conversation_check_idle(conv)
        doomed = selectors.message_subtree_ids(message=message)
        if conv.current_message_id in doomed:
            conv.current_message_id = message.parent_id
        conv.message_count = max(conv.message_count - len(doomed), 0)
        conv.save(update_fields=["current_message", "message_count"])
        # Share links of these messages go with them in the database.
        doomed_messages = Message.objects.filter(pk__in=doomed)
        doomed_messages.unthread()
        doomed_messages.delete()
        events.sidebar_changed(
            user_id=conv.owner_id, conversation_public_id=conv.public_id, action="updated"
        )


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


def message_stop(*, message: Message) -> Message:
    """Stop the reply being generated; the text streamed so far is kept (status `stopped`).

    The engine running it, in whichever process, is told to stop; with no engine alive the
    row is marked stopped here.
    """
    from django.core.cache import cache

    from conversations import generation

    with transaction.atomic():
        reply = Message.objects.select_for_update().get(pk=message.pk)
        if reply.status != Message.Status.IN_PROGRESS:
            return reply
        conversation = Conversation.objects.only("public_id").get(pk=reply.conversation_id)
        if generation.is_running(reply.pk):
            # Seen by the engine at its next flush even if the event below is lost.
            cache.set(
                generation.stop_key(reply.pk), 1, timeout=settings.GENERATION_TIMEOUT * 2 + 60
            )
            events.generation_stop(message_public_id=reply.public_id)
            return reply
        reply.status = Message.Status.STOPPED
        reply.status_reason = generation.STOPPED_REASON
        reply.updated_at = timezone.now()
        reply.save(update_fields=["status", "status_reason", "updated_at"])
        events.publish_on_commit(
            events.conversation_group(conversation.public_id),
            {"type": "generation.done", "message_id": reply.public_id, "status": reply.status},
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
        now = timezone.now()
        try:
            with transaction.atomic():
                reply = Message.objects.create(
                    conversation=conv,
                    parent=prompt,
                    role=Message.Role.ASSISTANT,
                    status=Message.Status.IN_PROGRESS,
                    model=model,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError:
            raise GenerationInProgress(GENERATION_BUSY) from None
        _advance_leaf(conv, leaf=reply, added=1, now=now)
        events.messages_created(
            conversation_public_id=conv.public_id,
            message_ids=[reply.public_id],
            replaces=replaces,
        )
        transaction.on_commit(lambda: _start_generation(reply.pk))
    return SendResult(prompt, reply, created=True)


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
