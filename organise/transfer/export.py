"""Export conversations: one as Markdown or JSON, or all of a user's data as a streamed zip.

The JSON format ("chatbot.conversation", version 1) carries every branch of the message tree
and is documented in the README (section "Export"); `importer.py` reads it back.
"""

import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import closing, nullcontext
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

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


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_json_string(column: str, vendor: str) -> str:
    """SQL for a text column as a JSON string, escaped exactly as json.dumps(ensure_ascii=False).

    Both escape the quote, the backslash and control characters alike (the five short forms,
    else a lowercase \\u00xx) and write everything else as it is; the tests check every
    ASCII character and a range of others against json.dumps.
    """
    if vendor == "postgresql":
        return f"to_json({column})::text"
    return f"json_quote({column})"


def _sql_json_time(column: str, vendor: str) -> str:
    """SQL for a timestamp column as the JSON string of _iso(value), NULL for a NULL.

    isoformat() in UTC: microseconds only when not zero, then +00:00. SQLite holds the time
    as Django wrote it, str() of the naive UTC datetime (which leaves out zero microseconds
    too); a value in another form is caught by _sqlite_time_ok.
    """
    if vendor == "postgresql":
        utc = f"({column} AT TIME ZONE 'UTC')"
        return (
            f"""'"' || replace(to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US'), '.000000', '')"""
            f""" || '{UTC_OFFSET}"'"""
        )
    return f"""('"' || replace({column}, ' ', 'T') || '{UTC_OFFSET}"')"""


def _sqlite_time_ok(column: str) -> str:
    """SQLite: true when _sql_json_time formats the column's value exactly.

    That is Django's form, "YYYY-MM-DD HH:MM:SS" with or without ".ffffff"; anything else (a
    "T", an offset, fewer digits) has another length or no space at position 11.
    """
    return f"(length({column}) IN (19, 26) AND substr({column}, 11, 1) = ' ')"


def _message_rows_sql(vendor: str, count: int) -> str:
    """SQL for the messages of `count` conversations, in (conversation, id) order, as JSON text.

    Each row is (conversation id, id, parent id, JSON string of public_id, the rest of the
    message's JSON object after "parent_id"), the database writing what _message_dict and
    json.dumps would: the parent's public id is resolved in Python from the conversation's
    own rows (a join costs a hash of the whole table on PostgreSQL). The rest begins with a
    comma; when a SQLite time is not in the form Django writes, it is instead the JSON array
    of the row's _RAW_FIELDS, for _message_json_raw.
    """
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"The full export does not support {vendor}.")
    quote = connection.ops.quote_name
    table = quote(Message._meta.db_table)

    def column(field: str) -> str:
        return "m." + quote(Message._meta.get_field(field).column)

    def text(field: str) -> str:
        return _sql_json_string(column(field), vendor)

    def time(field: str) -> str:
        return _sql_json_time(column(field), vendor)

    feedback_parts = [
        _sql_literal('{"rating": '),
        text("feedback_rating"),
        _sql_literal(', "comment": '),
        text("feedback_comment"),
        _sql_literal(', "updated_at": '),
        f"coalesce({time('feedback_at')}, 'null')",
        "'}'",
    ]
    feedback = (
        f"CASE WHEN {column('feedback_rating')} = '' THEN 'null' "
        f"ELSE {' || '.join(feedback_parts)} END"
    )
    # The content is most of a row: the short parts on either side are joined first, so it
    # is copied twice instead of once for every part after it.
    before = [_sql_literal(', "role": '), text("role"), _sql_literal(', "content": ')]
    after = [
        _sql_literal(', "status": '),
        text("status"),
        _sql_literal(', "status_reason": '),
        text("status_reason"),
        _sql_literal(', "model": '),
        text("model"),
        _sql_literal(', "input_tokens": '),
        column("input_tokens"),
        _sql_literal(', "output_tokens": '),
        column("output_tokens"),
        _sql_literal(', "created_at": '),
        time("created_at"),
        _sql_literal(', "updated_at": '),
        time("updated_at"),
        _sql_literal(', "feedback": '),
        feedback,
        "'}'",
    ]
    rest = f"({' || '.join(before)}) || {text('content')} || ({' || '.join(after)})"
    if vendor != "postgresql":
        times_ok = " AND ".join(
            [
                _sqlite_time_ok(column("created_at")),
                _sqlite_time_ok(column("updated_at")),
                f"({column('feedback_at')} IS NULL OR {_sqlite_time_ok(column('feedback_at'))})",
            ]
        )
        values = ", ".join(column(field) for field in _RAW_FIELDS)
        rest = f"CASE WHEN {times_ok} THEN {rest} ELSE json_array({values}) END"
    placeholders = ", ".join(["%s"] * count)
    return (
        f"SELECT {column('conversation')}, m.{quote('id')}, {column('parent')}, "
        f"{text('public_id')}, {rest} FROM {table} m "
        f"WHERE {column('conversation')} IN ({placeholders}) "
        f"ORDER BY {column('conversation')}, m.{quote('id')}"
    )


def _driver_rows(
    sql: str, params: list, *, chunk_size: int, fetcher: ThreadPoolExecutor | None
) -> Iterator[tuple]:
    """Yield a query's rows as the driver returns them, a chunk at a time.

    A server-side cursor on PostgreSQL, so memory holds a chunk or two. With a `fetcher`,
    the next chunk is fetched on its thread while this one is used: psycopg lets go of the
    GIL while PostgreSQL, in a process of its own, works out the rows. The connection is only
    ever used by one thread at a time, and the cursor closes once no fetch is left running.
    """
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        if fetcher is None:
            while chunk := cursor.fetchmany(chunk_size):
                yield from chunk
            return
        fetching = fetcher.submit(cursor.fetchmany, chunk_size)
        try:
            while chunk := fetching.result():
                fetching = fetcher.submit(cursor.fetchmany, chunk_size)
                yield from chunk
        finally:
            wait([fetching])


_RAW_FIELDS = MESSAGE_FIELDS[2:]
_RAW_TIMES = ("created_at", "updated_at", "feedback_at")


def _message_json_raw(public_id: str, parent_id: str | None, raw: str) -> str:
    """One message's JSON from its raw SQLite values, times read as the ORM reads them."""
    row = dict(zip(_RAW_FIELDS, json.loads(raw), strict=True))
    for name in _RAW_TIMES:
        if row[name] is not None:
            value = parse_datetime(row[name])
            row[name] = value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
    row["public_id"] = public_id
    row["parent_public_id"] = parent_id
    return json.dumps(_message_dict(row), ensure_ascii=False)


def _document_json(
    conversation: Conversation, messages: list[str], current_message_id: str | None
) -> str:
    """Return json.dumps(document) of a conversation, its messages given as JSON texts."""
    head = json.dumps(_document(conversation, [], current_message_id), ensure_ascii=False)
    # "messages" is the document's last key: its empty list closes it.
    return f"{head[:-3]}[{', '.join(messages)}]}}"


def _documents_json(conversations: list[Conversation], rows: Iterator[tuple]) -> Iterator[str]:
    """Merge conversations and their message rows (both in conversation id order) into JSON.

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
            f'{{"id": {public_id}, "parent_id": {public_ids.get(parent_pk, "null")}{rest}'
            if rest[0] == ","
            else _message_json_raw(
                json.loads(public_id),
                json.loads(public_ids[parent_pk]) if parent_pk in public_ids else None,
                rest,
            )
            for _conversation_pk, _pk, parent_pk, public_id, rest in own
        ]
        current = public_ids.get(conversation.current_message_id)
        yield _document_json(conversation, messages, json.loads(current) if current else None)


def user_conversation_json(*, user, batch_size: int = EXPORT_BATCH_SIZE) -> Iterator[str]:
    """Yield every conversation of the user as the JSON text of its export document.

    Exactly json.dumps(document, ensure_ascii=False) of conversation_export_json's document,
    in constant memory: keyset batches of conversations by id; each batch's messages are read
    in one query, written as JSON by the database (_message_rows_sql), streamed in chunks and
    merged here, so memory holds one batch of conversations and one conversation's messages
    at a time. Queries per batch: conversations (with their projects), their messages; one
    more finds the end.
    """
    vendor = connection.vendor
    # SQLite works in this process, holding the GIL for every row it hands over: fetching
    # ahead on a thread gains nothing there (measured), so it reads inline.
    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-fetch")
        if vendor == "postgresql"
        else nullcontext()
    ) as fetcher:
        for conversations in _conversation_batches(user=user, batch_size=batch_size):
            sql = _message_rows_sql(vendor, len(conversations))
            params = [c.pk for c in conversations]
            rows = _driver_rows(sql, params, chunk_size=MESSAGE_CHUNK_SIZE, fetcher=fetcher)
            with closing(rows):
                yield from _documents_json(conversations, rows)


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
    Deflate runs on a thread of its own (zlib lets go of the GIL while it compresses, and so
    does crc32), one piece of about CHUNK_BYTES at a time while the next is read and put
    together here: memory holds two pieces and the output not yet handed out.
    """
    sink = _Sink()
    # The fastest deflate level: a third of the time of the default for a zip about a tenth
    # larger, on what is mostly repetitive JSON.
    with (
        zipfile.ZipFile(
            sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL
        ) as archive,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-deflate") as deflater,
    ):
        projects = [
            _project_dict(p) for p in Project.objects.filter(owner=user).order_by("pk").iterator()
        ]
        archive.writestr("projects.json", json.dumps(projects, ensure_ascii=False, indent=1))
        with archive.open("conversations.json", "w", force_zip64=True) as member:
            writing: Future | None = None
            parts = ["["]
            size = 0
            documents = user_conversation_json(user=user, batch_size=batch_size)
            try:
                for index, document in enumerate(documents):
                    if index:
                        parts.append(",\n")
                    parts.append(document)
                    size += len(document)
                    if progress is not None:
                        progress()
                    if size >= CHUNK_BYTES:
                        piece = "".join(parts).encode()
                        parts.clear()
                        size = 0
                        if writing is not None:
                            writing.result()
                        # The deflate thread is idle: what it wrote can be handed out.
                        ready = sink.drain() if sink.size >= CHUNK_BYTES else b""
                        writing = deflater.submit(member.write, piece)
                        if ready:
                            yield ready
            finally:
                # Broken off or failed: the member closes only once no piece is being written.
                if writing is not None:
                    wait([writing])
            if writing is not None:
                writing.result()
            parts.append("]\n")
            member.write("".join(parts).encode())
    yield sink.drain()
