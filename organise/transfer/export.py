"""Export conversations: one as Markdown or JSON, or all of a user's data as a streamed zip.

The JSON format ("chatbot.conversation", version 1) carries every branch of the message tree
and is documented in the README (section "Export"); `importer.py` reads it back.
"""

import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.db.models import F, QuerySet

from conversations.models import Conversation, Message
from conversations.selectors import message_path
from projects.models import Project

FORMAT = "chatbot.conversation"
VERSION = 1
MESSAGE_FIELDS = (
    "public_id",
    "parent_public_id",
    "role",
    "content",
    "status",
    "status_reason",
    "model",
    "input_tokens",
    "output_tokens",
    "created_at",
    "updated_at",
    "feedback_rating",
    "feedback_comment",
    "feedback_at",
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _message_values(queryset):
    return queryset.annotate(parent_public_id=F("parent__public_id")).values(*MESSAGE_FIELDS)


def _message_dict(row: dict) -> dict:
    return {
        "id": row["public_id"],
        "parent_id": row["parent_public_id"],
        "role": row["role"],
        "content": row["content"],
        "status": row["status"],
        "status_reason": row["status_reason"],
        "model": row["model"],
        "input_tokens": row["input_tokens"],
        "output_tokens": row["output_tokens"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "feedback": _feedback_dict(
            row["feedback_rating"], row["feedback_comment"], _iso(row["feedback_at"])
        ),
    }


def _feedback_dict(rating: str, comment: str, updated_at: str | None) -> dict | None:
    """Return the owner's rating of a reply as the API shows it, or None."""
    if not rating:
        return None
    return {"rating": rating, "comment": comment, "updated_at": updated_at}


def _project_dict(project: Project) -> dict:
    return {
        "id": project.public_id,
        "title": project.title,
        "description": project.description,
        "instructions": project.instructions,
        "created_at": _iso(project.created_at),
        "updated_at": _iso(project.updated_at),
    }


def conversation_document(
    conversation: Conversation, messages: Iterable[dict], current_message_id: str | None
) -> dict:
    """Return the export document of a conversation and its message rows (all branches)."""
    return _document(conversation, [_message_dict(row) for row in messages], current_message_id)


def _document(
    conversation: Conversation, messages: list[dict], current_message_id: str | None
) -> dict:
    project = conversation.project
    return {
        "format": FORMAT,
        "version": VERSION,
        "id": conversation.public_id,
        "title": conversation.title,
        "created_at": _iso(conversation.created_at),
        "updated_at": _iso(conversation.updated_at),
        "pinned_at": _iso(conversation.pinned_at),
        "archived_at": _iso(conversation.archived_at),
        "status": conversation.status,
        "project": _project_dict(project) if project else None,
        "metadata": conversation.metadata,
        "current_message_id": current_message_id,
        "messages": messages,
    }


def conversation_export_json(*, conversation: Conversation) -> dict:
    """Return one conversation as an export document (2 queries: current leaf, messages)."""
    current = (
        Message.objects.filter(pk=conversation.current_message_id)
        .values_list("public_id", flat=True)
        .first()
    )
    rows = _message_values(Message.objects.filter(conversation=conversation).order_by("pk"))
    return conversation_document(conversation, rows, current)


def conversation_export_markdown(*, conversation: Conversation) -> str:
    """Return the active branch of a conversation as a Markdown document."""
    messages = message_path(
        conversation=conversation,
        leaf_id=conversation.current_message_id,
        limit=settings.MAX_MESSAGES_PER_CONVERSATION,
    )
    lines = [f"# {conversation.title or 'Untitled conversation'}", ""]
    lines.append(f"Started {conversation.created_at:%Y-%m-%d %H:%M} UTC.")
    lines.append("")
    for message in messages:
        heading = message.get_role_display()
        if message.model:
            heading += f" ({message.model})"
        lines += [f"## {heading}", "", message.content.rstrip(), ""]
        if message.status != Message.Status.COMPLETED:
            lines += [f"*[{message.get_status_display()}]*", ""]
    return "\n".join(lines)


def export_filename(conversation: Conversation, extension: str) -> str:
    """Return a safe download name such as ``trip-to-lisbon.md``."""
    from django.utils.text import slugify

    return f"{slugify(conversation.title)[:60] or conversation.public_id}.{extension}"


# Conversations per keyset batch of the full export; their messages stream in chunks.
EXPORT_BATCH_SIZE = 500
MESSAGE_CHUNK_SIZE = 2_000
_ROW_FIELDS = (
    "conversation_id",
    "pk",
    "parent_id",
    "public_id",
    "role",
    "content",
    "status",
    "status_reason",
    "model",
    "input_tokens",
    "output_tokens",
    "created_at",
    "updated_at",
    "feedback_rating",
    "feedback_comment",
    "feedback_at",
)


def _conversation_batches(*, user, batch_size: int) -> Iterator[list[Conversation]]:
    """Yield the user's conversations in id order, `batch_size` at a time (keyset on id)."""
    last = 0
    while True:
        batch = list(
            Conversation.objects.filter(owner=user, pk__gt=last)
            .select_related("project")
            .order_by("pk")[:batch_size]
        )
        if not batch:
            return
        yield batch
        last = batch[-1].pk


# How isoformat() writes UTC (datetime.UTC, Django's time zone for stored times).
UTC_OFFSET = datetime(2000, 1, 1, tzinfo=UTC).isoformat()[-6:]


def _db_iso(value: datetime | str) -> str:
    """Format a timestamp as the driver returns it the way _iso formats Django's value.

    PostgreSQL returns aware datetimes; SQLite the naive UTC time Django wrote (parsed by
    the driver, or text), which Django itself would make aware in UTC.
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.isoformat() + UTC_OFFSET
    return value.isoformat()


def _driver_rows(queryset: QuerySet, *, chunk_size: int) -> Iterator[tuple]:
    """Yield a values_list queryset's rows as the driver returns them, a chunk at a time.

    The ORM builds the SQL; the rows skip its per-value converters, which parse every
    timestamp only for the export to format it again (most of the cost of reading messages).
    A server-side cursor on PostgreSQL, so memory holds one chunk.
    """
    sql, params = queryset.query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(chunk_size):
            yield from chunk


def _documents(conversations: list[Conversation], rows: Iterator[tuple]) -> Iterator[dict]:
    """Merge conversations and their message rows (both in conversation id order) into documents.

    Parents and the current message are always in the same conversation, so their public ids
    come from the conversation's own rows instead of a join.
    """
    pending = next(rows, None)
    for conversation in conversations:
        own = []
        pk = conversation.id
        while pending is not None and pending[0] <= pk:
            if pending[0] == pk:
                own.append(pending)
            pending = next(rows, None)
        public_ids = {row[1]: row[3] for row in own}
        messages = [
            {
                "id": public_id,
                "parent_id": public_ids.get(parent_pk),
                "role": role,
                "content": content,
                "status": status,
                "status_reason": status_reason,
                "model": model,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "created_at": _db_iso(created_at),
                "updated_at": _db_iso(updated_at),
                "feedback": _feedback_dict(
                    rating, comment, _db_iso(rated_at) if rated_at is not None else None
                ),
            }
            for (
                _conversation_pk,
                _pk,
                parent_pk,
                public_id,
                role,
                content,
                status,
                status_reason,
                model,
                input_tokens,
                output_tokens,
                created_at,
                updated_at,
                rating,
                comment,
                rated_at,
            ) in own
        ]
        current = public_ids.get(conversation.current_message_id)
        yield _document(conversation, messages, current)


def user_conversation_documents(*, user, batch_size: int = EXPORT_BATCH_SIZE) -> Iterator[dict]:
    """Yield every conversation of the user as an export document, in constant memory.

    Keyset batches of conversations by id; each batch's messages are read in one query,
    streamed in chunks, and merged here, so memory holds one batch of conversations and one
    conversation's messages at a time. Queries per batch: conversations (with their
    projects), their messages; one more finds the end.
    """
    for conversations in _conversation_batches(user=user, batch_size=batch_size):
        messages = (
            Message.objects.filter(conversation_id__in=[c.pk for c in conversations])
            .order_by("conversation_id", "pk")
            .values_list(*_ROW_FIELDS)
        )
        yield from _documents(conversations, _driver_rows(messages, chunk_size=MESSAGE_CHUNK_SIZE))


class _Sink(io.RawIOBase):
    """A write-only stream that hands out what was written so far."""

    def __init__(self):
        self.chunks: list[bytes] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        self.size += len(data)
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        self.size = 0
        return data


CHUNK_BYTES = 256 * 1024
ZIP_LEVEL = 1


def user_export_zip(
    *,
    user,
    progress: Callable[[], None] | None = None,
    batch_size: int = EXPORT_BATCH_SIZE,
) -> Iterator[bytes]:
    """Yield a zip of all of the user's data (projects.json, conversations.json) in chunks.

    conversations.json is a JSON array of conversation documents, written one at a time.
    """
    sink = _Sink()
    # The fastest deflate level: a third of the time of the default for a zip about a tenth
    # larger, on what is mostly repetitive JSON.
    with zipfile.ZipFile(
        sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL
    ) as archive:
        projects = [
            _project_dict(p) for p in Project.objects.filter(owner=user).order_by("pk").iterator()
        ]
        archive.writestr("projects.json", json.dumps(projects, ensure_ascii=False, indent=1))
        with archive.open("conversations.json", "w", force_zip64=True) as member:
            member.write(b"[")
            documents = user_conversation_documents(user=user, batch_size=batch_size)
            for index, document in enumerate(documents):
                if index:
                    member.write(b",\n")
                member.write(json.dumps(document, ensure_ascii=False).encode())
                if progress is not None:
                    progress()
                if sink.size >= CHUNK_BYTES:
                    yield sink.drain()
            member.write(b"]\n")
    yield sink.drain()
