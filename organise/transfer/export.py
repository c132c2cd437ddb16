"""Export conversations: one as Markdown or JSON, or all of a user's data as a streamed zip.

The JSON format ("chatbot.conversation", version 1) carries every branch of the message tree
and is documented in the README (section "Export"); `importer.py` reads it back.
"""

import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from django.conf import settings
from django.db.models import F

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
        "feedback": _feedback_dict(row),
    }


def _feedback_dict(row: dict) -> dict | None:
    """Return the owner's rating of a reply as the API shows it, or None."""
    if not row["feedback_rating"]:
        return None
    return {
        "rating": row["feedback_rating"],
        "comment": row["feedback_comment"],
        "updated_at": _iso(row["feedback_at"]),
    }


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
        "messages": [_message_dict(row) for row in messages],
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


def user_conversation_documents(*, user) -> Iterator[dict]:
    """Yield every conversation of the user as an export document, in constant memory.

    Two queries stream side by side with server-side cursors (conversations by id, messages
    by conversation id), merged here, so memory holds one conversation at a time.
    """
    conversations = (
        Conversation.objects.filter(owner=user)
        .select_related("project")
        .annotate(current_public_id=F("current_message__public_id"))
        .order_by("pk")
        .iterator(chunk_size=200)
    )
    messages = _message_values(
        Message.objects.filter(conversation__owner=user).order_by("conversation_id", "pk")
    ).annotate(conversation_pk=F("conversation_id"))
    rows = messages.iterator(chunk_size=2_000)
    pending = next(rows, None)
    for conversation in conversations:
        batch = []
        while pending is not None and pending["conversation_pk"] <= conversation.pk:
            if pending["conversation_pk"] == conversation.pk:
                batch.append(pending)
            pending = next(rows, None)
        yield conversation_document(conversation, batch, conversation.current_public_id)


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


def user_export_zip(*, user, progress: Callable[[], None] | None = None) -> Iterator[bytes]:
    """Yield a zip of all of the user's data (projects.json, conversations.json) in chunks.

    conversations.json is a JSON array of conversation documents, written one at a time.
    """
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        projects = [
            _project_dict(p) for p in Project.objects.filter(owner=user).order_by("pk").iterator()
        ]
        archive.writestr("projects.json", json.dumps(projects, ensure_ascii=False, indent=1))
        with archive.open("conversations.json", "w", force_zip64=True) as member:
            member.write(b"[")
            for index, document in enumerate(user_conversation_documents(user=user)):
                if index:
                    member.write(b",\n")
                member.write(json.dumps(document, ensure_ascii=False).encode())
                if progress is not None:
                    progress()
                if sink.size >= CHUNK_BYTES:
                    yield sink.drain()
            member.write(b"]\n")
    yield sink.drain()
