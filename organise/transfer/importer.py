"""Import conversations from a ChatGPT data export or from our own JSON export.

Files stream through ijson, one conversation in memory at a time; each conversation is
written in its own transaction with bulk inserts, so a bad one is reported and skipped.
"""

import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import IO

import ijson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from conversations.models import (
    FEEDBACK_COMMENT_MAX_CHARS,
    TITLE_MAX_CHARS,
    Conversation,
    Message,
)
from conversations.services import NewMessage, message_chain_append, validate_metadata
from core import events
from core.text import invalid_char_message
from organise.transfer import export
from organise.transfer.chatgpt import chatgpt_conversation, label
from organise.transfer.tree import ImportedConversation, ImportedMessage, Malformed
from projects.models import Project
from projects.services import project_create

MEMBER_NAME = "conversations.json"
BATCH_SIZE = 500
COMMIT_EVERY = 50


class ImportFileError(Exception):
    """The file as a whole cannot be read (not JSON, not a zip with conversations.json)."""


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    messages: int = 0
    failed: list[Malformed] = field(default_factory=list)
    # Set when the file broke off part-way: what came before it stays imported.
    error: str = ""

    @property
    def summary(self) -> str:
        text = (
            f"Imported {self.imported} conversation{'s' * (self.imported != 1)} "
            f"({self.messages} messages); skipped {self.duplicates} already imported"
        )
        if self.failed:
            text += f"; {len(self.failed)} could not be read"
        return text + "."


def _open_json(file: IO[bytes]) -> IO[bytes]:
    """Return a binary stream of conversations JSON: the file itself or its zip member."""
    file.seek(0)
    head = file.read(4)
    file.seek(0)
    if head != b"PK\x03\x04":
        return file
    try:
        archive = zipfile.ZipFile(file)
    except zipfile.BadZipFile as exc:
        raise ImportFileError(f"The zip file cannot be read: {exc}.") from None
    names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == MEMBER_NAME]
    if not names:
        raise ImportFileError(f"The zip file has no {MEMBER_NAME}.")
    return archive.open(min(names, key=len))


def _first_byte(stream: IO[bytes]) -> bytes:
    """Return the first non-blank byte of a stream, then rewind it if it can be."""
    while True:
        byte = stream.read(1)
        if not byte or not byte.isspace():
            return byte


def iter_items(file: IO[bytes]) -> Iterator:
    """Yield each conversation object of a JSON array (or a single JSON object) streamed."""
    stream = _open_json(file)
    first = _first_byte(stream)
    if first not in (b"[", b"{"):
        raise ImportFileError("The file is not a JSON array of conversations.")
    # The first byte is consumed: hand ijson the rest behind a one-byte prefix.
    prefixed = _Prefixed(first, stream)
    prefix = "item" if first == b"[" else ""
    yield from ijson.items(prefixed, prefix, use_float=True)


class _Prefixed:
    """A read()-able stream of `head` followed by the rest of `stream`."""

    def __init__(self, head: bytes, stream: IO[bytes]):
        self.head = head
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        if self.head and size != 0:
            head, self.head = self.head, b""
            if size < 0:
                return head + self.stream.read()
            return head + self.stream.read(max(size - len(head), 0))
        return self.stream.read(size)


def _time(value, name: str, field_name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise Malformed(name, f"{field_name} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise Malformed(name, f"{field_name} has no time zone")
    return parsed


def _feedback(row: dict, name: str) -> tuple[str, str, datetime | None] | None:
    """Return a reply's (rating, comment, time) from an export row; anything odd is dropped."""
    feedback = row.get("feedback")
    if (
        row.get("role") != Message.Role.ASSISTANT
        or not isinstance(feedback, dict)
        or feedback.get("rating") not in Message.Rating.values
    ):
        return None
    comment = feedback.get("comment")
    if not isinstance(comment, str) or invalid_char_message(comment) is not None:
        comment = ""
    comment = comment.strip()[:FEEDBACK_COMMENT_MAX_CHARS]
    return feedback["rating"], comment, _time(feedback.get("updated_at"), name, "feedback time")


def native_conversation(raw: dict) -> ImportedConversation:
    """Turn one of our own export documents into a tree; raise Malformed if it is broken."""
    name = label(raw)
    if raw.get("version") != export.VERSION:
        raise Malformed(name, f"format version {raw.get('version')!r} is not supported")
    source_id = raw.get("id")
    if not isinstance(source_id, str) or not source_id:
        raise Malformed(name, "it has no id")
    created_at = _time(raw.get("created_at"), name, "created_at")
    if created_at is None:
        raise Malformed(name, "it has no created_at")
    rows = raw.get("messages")
    if not isinstance(rows, list):
        raise Malformed(name, "messages is not a list")
    messages, seen = [], set()
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            raise Malformed(name, "a message has no id")
        if row.get("role") not in Message.Role.values:
            raise Malformed(name, f"message {row['id']} has an unknown role")
        parent = row.get("parent_id")
        if parent is not None and parent not in seen:
            raise Malformed(name, f"message {row['id']} comes before its parent")
        status = row.get("status")
        if status not in Message.Status.values or status == Message.Status.IN_PROGRESS:
            status = Message.Status.INCOMPLETE
        seen.add(row["id"])
        messages.append(
            ImportedMessage(
                key=row["id"],
                parent_key=parent,
                role=row["role"],
                content=str(row.get("content") or ""),
                status=status,
                model=str(row.get("model") or "")[:100],
                created_at=_time(row.get("created_at"), name, "created_at") or created_at,
                updated_at=_time(row.get("updated_at"), name, "updated_at"),
                input_tokens=max(int(row.get("input_tokens") or 0), 0),
                output_tokens=max(int(row.get("output_tokens") or 0), 0),
                feedback=_feedback(row, name),
            )
        )
    metadata = raw.get("metadata") or {}
    try:
        metadata = dict(validate_metadata(metadata))
    except ValidationError:
        raise Malformed(name, "its metadata is not a map of short strings") from None
    if len(metadata) < 16:
        metadata.setdefault("source_id", source_id)
    current = raw.get("current_message_id")
    project = raw.get("project")
    if project is not None and not (isinstance(project, dict) and project.get("title")):
        raise Malformed(name, "its project has no title")
    return ImportedConversation(
        label=name,
        title=" ".join(str(raw.get("title") or "").split())[:TITLE_MAX_CHARS],
        created_at=created_at,
        updated_at=_time(raw.get("updated_at"), name, "updated_at") or created_at,
        archived=raw.get("archived_at") is not None,
        pinned=raw.get("pinned_at") is not None,
        metadata=metadata,
        dedup_key=("source_id", source_id),
        messages=messages,
        current_key=current if current in seen else (messages[-1].key if messages else None),
        project=project,
    )


def read_conversation(raw) -> ImportedConversation:
    """Read one item in whichever format it is written."""
    if isinstance(raw, dict) and raw.get("format") == export.FORMAT:
        return native_conversation(raw)
    return chatgpt_conversation(raw)


def _project_for(user, spec: dict | None, cache: dict[str, Project]) -> Project | None:
    """Return the user's project of that title, creating it the first time it is needed."""
    if spec is None:
        return None
    title = " ".join(str(spec["title"]).split())[:TITLE_MAX_CHARS]
    if title not in cache:
        project = Project.objects.filter(owner=user, title=title).order_by("pk").first()
        if project is None:
            project = project_create(
                owner=user,
                title=title,
                description=str(spec.get("description") or ""),
                instructions=str(spec.get("instructions") or ""),
            )
        cache[title] = project
    return cache[title]


def _feedback_fields(item: ImportedMessage) -> dict:
    if item.feedback is None:
        return {}
    rating, comment, at = item.feedback
    at = at or item.updated_at or item.created_at
    return {"feedback_rating": rating, "feedback_comment": comment, "feedback_at": at}


def conversation_import(
    *, user, imported: ImportedConversation, project: Project | None = None
) -> Conversation:
    """Write an imported conversation and its whole message tree.

    Queries: reserve ids, insert the conversation, insert the messages (500 a statement).
    """
    if len(imported.messages) > settings.MAX_MESSAGES_PER_CONVERSATION:
        raise Malformed(
            imported.label,
            f"it has more than {settings.MAX_MESSAGES_PER_CONVERSATION:,} messages",
        )
    if len({item.key for item in imported.messages}) != len(imported.messages):
        raise Malformed(imported.label, "a message id appears twice")
    with transaction.atomic():
        conversation = Conversation(
            owner=user,
            project=project,
            title=imported.title,
            created_at=imported.created_at,
            updated_at=imported.updated_at,
            archived_at=imported.updated_at if imported.archived else None,
            pinned_at=imported.updated_at if imported.pinned else None,
            metadata=imported.metadata,
        )
        index = {item.key: i for i, item in enumerate(imported.messages)}
        message_chain_append(
            conversation=conversation,
            parent=None,
            messages=[
                NewMessage(
                    role=item.role,
                    content=item.content,
                    status=item.status,
                    model=item.model,
                    input_tokens=item.input_tokens,
                    output_tokens=item.output_tokens,
                    call_id=item.key[:100],
                    created_at=item.created_at,
                    updated_at=item.updated_at or item.created_at,
                    **_feedback_fields(item),
                )
                for item in imported.messages
            ],
            parents=[index.get(item.parent_key) for item in imported.messages],
            leaf=index.get(imported.current_key, len(imported.messages) - 1),
            notify=False,
        )
    return conversation


def _existing_keys(user) -> dict[str, set[str]]:
    """Return the dedup values already present for the user, by metadata key (2 queries)."""
    keys = {}
    for key in ("chatgpt_id", "source_id"):
        keys[key] = set(
            Conversation.objects.filter(owner=user, metadata__has_key=key).values_list(
                f"metadata__{key}", flat=True
            )
        )
    return keys


def _seen_before(raw, existing: dict) -> bool:
    """Return whether an item is a known duplicate, judged from its id alone (no parsing)."""
    if not isinstance(raw, dict):
        return False
    if raw.get("format") == export.FORMAT:
        key, value = "source_id", raw.get("id")
    else:
        key, value = "chatgpt_id", raw.get("conversation_id") or raw.get("id")
    return isinstance(value, str) and value[:512] in existing[key]


def _import_one(*, user, raw, report: ImportReport, existing: dict, projects: dict) -> None:
    """Import one item, counting it as imported, duplicate or failed."""
    name = label(raw)
    if _seen_before(raw, existing):
        report.duplicates += 1
        return
    try:
        imported = read_conversation(raw)
        key, value = imported.dedup_key
        if key == "source_id" and Conversation.objects.filter(owner=user, public_id=value).exists():
            # Our own export imported back into the same account.
            existing[key].add(value)
        if value in existing[key]:
            report.duplicates += 1
            return
        with transaction.atomic():
            project = _project_for(user, imported.project, projects)
            conversation_import(user=user, imported=imported, project=project)
        existing[key].add(value)
        report.imported += 1
        report.messages += len(imported.messages)
    except Malformed as exc:
        report.failed.append(exc)
        projects.clear()  # A project made for it was rolled back too.
    except (ValueError, TypeError, AttributeError, DatabaseError) as exc:
        report.failed.append(Malformed(name, str(exc) or type(exc).__name__))
        projects.clear()


def import_file(
    *, user, file: IO[bytes], progress: Callable[[str], None] | None = None
) -> ImportReport:
    """Import every conversation of a file; skip ones imported before and report broken ones.

    Conversations commit in groups of COMMIT_EVERY, each in its own savepoint, so a broken
    one costs only itself and a file cut short keeps everything before the cut.
    """
    report = ImportReport()
    existing = _existing_keys(user)
    projects: dict[str, Project] = {}
    items = iter_items(file)
    done = False
    while not done:
        with transaction.atomic():
            taken = 0
            try:
                for raw in islice(items, COMMIT_EVERY):
                    taken += 1
                    _import_one(
                        user=user, raw=raw, report=report, existing=existing, projects=projects
                    )
                    if progress is not None:
                        progress(label(raw))
            except ijson.JSONError as exc:
                report.error = f"The file stops being valid JSON: {exc}"
                done = True
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                report.error = f"The file cannot be read: {exc}"
                done = True
            done = done or taken < COMMIT_EVERY
    if report.imported:
        events.sidebar_changed(user_id=user.pk, conversation_public_id="", action="imported")
    return report
