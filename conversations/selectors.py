"""Reads of conversations and messages, always scoped to their owner."""

import base64
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import Http404

from conversations.models import Conversation, Message
from core.converters import is_public_id

SIDEBAR_FIELDS = (
    "id",
    "public_id",
    "owner_id",
    "project_id",
    "title",
    "preview",
    "status",
    "message_count",
    "pinned_at",
    "archived_at",
    "created_at",
    "updated_at",
)
# What one row of the HTML sidebar shows (and its cursor needs): see conversation_rows_for_sidebar.
SIDEBAR_ROW_FIELDS = ("id", "public_id", "title", "preview", "updated_at")


class InvalidCursor(ValueError):
    """The pagination cursor was not one this server handed out."""


@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: str | None

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


def encode_cursor(stamp: datetime, pk: int) -> str:
    """Return an opaque cursor for the row at (stamp, pk)."""
    raw = f"{stamp.isoformat()}|{pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """Return (stamp, pk) from a cursor, or raise InvalidCursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, pk = raw.split("|")
        updated_at = datetime.fromisoformat(stamp)
        if updated_at.tzinfo is None:
            raise ValueError("naive timestamp")
        return updated_at, int(pk)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("Invalid cursor.") from exc


def keyset_after(
    qs: QuerySet, *, field: str, stamp: datetime, pk: int, descending: bool = True
) -> QuerySet:
    """Return the rows strictly after (stamp, pk) in (field, pk) order.

    The redundant inclusive bound gives the (…, field, id) index a range to start from;
    without it the database reads every row above the anchor.
    """
    if descending:
        return qs.filter(**{f"{field}__lte": stamp}).filter(
            Q(**{f"{field}__lt": stamp}) | Q(pk__lt=pk)
        )
    return qs.filter(**{f"{field}__gte": stamp}).filter(Q(**{f"{field}__gt": stamp}) | Q(pk__gt=pk))


def keyset_page(qs: QuerySet, *, field: str, cursor: str | None, limit: int) -> Page:
    """Return one page of qs, newest `field` first, after `cursor` (one query at any depth)."""
    if cursor:
        stamp, pk = decode_cursor(cursor)
        qs = keyset_after(qs, field=field, stamp=stamp, pk=pk)
    rows = list(qs.order_by(f"-{field}", "-pk")[: limit + 1])
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        if isinstance(last, dict):  # a .values() queryset
            return Page(items=rows, next_cursor=encode_cursor(last[field], last["id"]))
        return Page(items=rows, next_cursor=encode_cursor(getattr(last, field), last.pk))
    return Page(items=rows, next_cursor=None)


def conversation_get_for_user(*, user, public_id: str) -> Conversation:
    """Return the user's conversation, or raise Http404 for a missing or foreign one alike."""
    if not getattr(user, "is_authenticated", False) or not is_public_id(public_id, prefix="conv"):
        # An id that cannot exist is a 404 before any query (and NUL never reaches the database).
        raise Http404("No such conversation.")
    try:
        return Conversation.objects.select_related("project").get(owner=user, public_id=public_id)
    except Conversation.DoesNotExist:
        raise Http404("No such conversation.") from None


def conversation_list_for_sidebar(
    *,
    user,
    cursor: str | None = None,
    limit: int = 50,
    archived: bool = False,
    pinned: bool | None = None,
    project=None,
) -> Page:
    """Return one page of the user's conversations, newest activity first (one query).

    Keyset pagination on (updated_at, id): as fast at page 1,000 as at page 1.
    """
    qs = Conversation.objects.filter(owner=user, archived_at__isnull=not archived)
    if pinned is not None:
        qs = qs.filter(pinned_at__isnull=not pinned)
    if project is not None:
        qs = qs.filter(project=project)
    return keyset_page(qs.only(*SIDEBAR_FIELDS), field="updated_at", cursor=cursor, limit=limit)


def conversation_rows_for_sidebar(
    *, user, pinned: bool, cursor: str | None = None, limit: int = 50
) -> Page:
    """Return one page of the user's unarchived conversations as dicts of SIDEBAR_ROW_FIELDS.

    The HTML sidebar's read (one query): a hundred rows a page, each showing a title and a
    preview, where building model instances would cost more than the query itself.
    """
    qs = Conversation.objects.filter(
        owner=user, archived_at__isnull=True, pinned_at__isnull=not pinned
    ).values(*SIDEBAR_ROW_FIELDS)
    return keyset_page(qs, field="updated_at", cursor=cursor, limit=limit)


def conversation_latest_by_project(
    *, user, projects: list, per_project: int
) -> dict[int, list[Conversation]]:
    """Map each project's pk to its newest unarchived conversations (one query)."""
    latest: dict[int, list[Conversation]] = {project.pk: [] for project in projects}
    if not projects:
        return latest
    rows = (
        Conversation.objects.filter(owner=user, project__in=list(latest), archived_at__isnull=True)
        .annotate(
            rank=Window(RowNumber(), partition_by=F("project_id"), order_by=F("updated_at").desc())
        )
        .filter(rank__lte=per_project)
        .only("public_id", "title", "project_id", "updated_at")
        .order_by("project_id", "rank")
    )
    for conversation in rows:
        latest[conversation.project_id].append(conversation)
    return latest


_MESSAGES = Message._meta.db_table

# The ancestors of a leaf, nearest first: one primary-key probe per level, `depth` counts up.
_PATH_CTE = f"""
WITH RECURSIVE path(id, parent_id, depth) AS (
    SELECT id, parent_id, 0 FROM {_MESSAGES}
    WHERE id = %s AND conversation_id = %s
    UNION ALL
    SELECT m.id, m.parent_id, p.depth + 1
    FROM {_MESSAGES} m JOIN path p ON m.id = p.parent_id
    WHERE p.depth < %s
)
"""

# A message and every message below it.
_SUBTREE_CTE = f"""
WITH RECURSIVE subtree(id) AS (
    SELECT id FROM {_MESSAGES} WHERE id = %s
    UNION ALL
    SELECT m.id FROM {_MESSAGES} m JOIN subtree s ON m.parent_id = s.id
)
"""


def _message_columns(without: Collection[str] = ()) -> str:
    return ", ".join(
        f"m.{f.column}" for f in Message._meta.concrete_fields if f.attname not in without
    )


def message_path(
    *,
    conversation: Conversation,
    leaf_id: int | None,
    limit: int,
    without: Collection[str] = (),
) -> list[Message]:
    """Return up to `limit` messages ending at `leaf_id`, oldest first (one query).

    `without` names fields not read (deferred, as Django defers them: reading one costs a
    query, which the pages' query-count tests would show).
    """
    if leaf_id is None or limit <= 0:
        return []
    columns = _message_columns(without)
    sql = (
        f"{_PATH_CTE} SELECT {columns} FROM {_MESSAGES} m JOIN path p ON m.id = p.id "
        "ORDER BY p.depth DESC"
    )
    return list(Message.objects.raw(sql, [leaf_id, conversation.pk, limit - 1]))


def message_path_ids(*, conversation: Conversation, leaf_id: int | None, limit: int) -> list[int]:
    """Return the ids of up to `limit` messages ending at `leaf_id`, the leaf first (one query).

    Reads two integers per level, never a message's content.
    """
    if leaf_id is None or limit <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"{_PATH_CTE} SELECT id FROM path ORDER BY depth", [leaf_id, conversation.pk, limit - 1]
        )
        return [row[0] for row in cursor.fetchall()]


def message_path_page(
    *,
    conversation: Conversation,
    leaf_id: int | None,
    after_public_id: str | None = None,
    limit: int,
    depth: int,
) -> list[Message]:
    """Return the first `limit` messages of the path ending at `leaf_id`, root first (one query).

    With `after_public_id`, the page starts after that message of the path (a keyset: an id
    not on the path gives an empty page). The walk reads two integers a level of up to
    `depth` levels; only the page's rows are read whole, so a page costs about the same
    whatever the length of the path.
    """
    if leaf_id is None or limit <= 0:
        return []
    columns = _message_columns()
    params: list = [leaf_id, conversation.pk, depth - 1]
    where = ""
    if after_public_id is not None:
        where = (
            f"WHERE depth < (SELECT a.depth FROM path a JOIN {_MESSAGES} am ON am.id = a.id "
            "WHERE am.public_id = %s)"
        )
        params.append(after_public_id)
    sql = (
        f"{_PATH_CTE} SELECT {columns} FROM {_MESSAGES} m JOIN "
        f"(SELECT id, depth FROM path {where} ORDER BY depth DESC LIMIT %s) p ON m.id = p.id "
        "ORDER BY p.depth DESC"
    )
    return list(Message.objects.raw(sql, [*params, limit]))


def message_subtree_ids(*, message: Message) -> set[int]:
    """Return the ids of the message and of every message below it (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(f"{_SUBTREE_CTE} SELECT id FROM subtree", [message.pk])
        return {row[0] for row in cursor.fetchall()}


def message_newest_leaf_id(*, message: Message) -> int:
    """Return the id of the newest message below `message` (or its own): always a leaf.

    Children are created after their parents, so the newest of a subtree has no children.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"{_SUBTREE_CTE} SELECT s.id FROM subtree s JOIN {_MESSAGES} m ON m.id = s.id "
            "ORDER BY m.created_at DESC, m.id DESC LIMIT 1",
            [message.pk],
        )
        (leaf_id,) = cursor.fetchone()
    return leaf_id


@dataclass(frozen=True)
class Thread:
    messages: list[Message]
    has_older: bool

    @property
    def oldest(self) -> Message | None:
        return self.messages[0] if self.messages else None


# What a message article never shows. Each is a datetime, which Django's SQLite backend
# parses twice a row (the driver's converter, then the field's): leaving them out takes a
# quarter off the read of a 50-message page (1.1-1.4 ms to 0.83 ms at a million messages).
ARTICLE_UNSHOWN = ("updated_at", "feedback_at")


def message_thread(
    *,
    conversation: Conversation,
    before: Message | None = None,
    limit: int = 50,
    without: Collection[str] = (),
) -> Thread:
    """Return the newest `limit` messages of the active branch (older than `before`).

    `without`: fields the caller never reads (the chat pane passes ARTICLE_UNSHOWN).
    """
    leaf_id = before.parent_id if before is not None else conversation.current_message_id
    path = message_path(
        conversation=conversation, leaf_id=leaf_id, limit=limit + 1, without=without
    )
    if len(path) > limit:
        return Thread(messages=path[1:], has_older=True)
    return Thread(messages=path, has_older=False)


def message_get_for_user(
    *,
    user,
    public_id: str,
    conversation: Conversation | None = None,
    conversation_public_id: str | None = None,
) -> Message:
    """Return a message of the user's (given) conversation; Http404 for missing and foreign alike.

    The only way a door reaches a message by its public id. A door that knows only the
    conversation's public id passes `conversation_public_id` and still makes one query.
    """
    if not getattr(user, "is_authenticated", False) or not is_public_id(public_id, prefix="msg"):
        raise Http404("No such message.")
    if conversation_public_id is not None and not is_public_id(
        conversation_public_id, prefix="conv"
    ):
        raise Http404("No such message.")
    scope: dict = {"conversation__owner": user}
    if conversation is not None:
        scope["conversation"] = conversation
    if conversation_public_id is not None:
        scope["conversation__public_id"] = conversation_public_id
    try:
        message = Message.objects.select_related("conversation").get(public_id=public_id, **scope)
    except Message.DoesNotExist:
        raise Http404("No such message.") from None
    if conversation is not None:
        # The caller's instance, so later writes and refreshes act on the same object.
        message.conversation = conversation
    return message


def message_sibling_positions(
    *, conversation: Conversation, messages: list[Message]
) -> dict[int, tuple[int, int]]:
    """Map each message id to (1-based position among its siblings, sibling count) in one query.

    Plain SQL through the cursor: a thread page asks for 50 parents, and the ORM's
    preparation of each value of an IN list cost more than the query itself. PostgreSQL
    takes them as one array: psycopg keeps the parsed form of a query of at most 50
    parameters only, and parsing this one again on every page cost as much as its rows.
    """
    if not messages:
        return {}
    parent_ids = sorted({m.parent_id for m in messages if m.parent_id is not None})
    conditions, params = [], [conversation.pk]
    if parent_ids and connection.vendor == "postgresql":
        conditions.append("parent_id = ANY(%s)")
        params.append(parent_ids)
    elif parent_ids:
        conditions.append(f"parent_id IN ({', '.join(['%s'] * len(parent_ids))})")
        params.extend(parent_ids)
    if any(m.parent_id is None for m in messages):
        conditions.append("parent_id IS NULL")
    siblings = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT parent_id, id FROM {_MESSAGES} WHERE conversation_id = %s "
            f"AND ({' OR '.join(conditions)}) ORDER BY created_at, id",
            params,
        )
        for parent_id, pk in cursor.fetchall():
            siblings[parent_id].append(pk)
    positions = {}
    for m in messages:
        group = siblings[m.parent_id]
        positions[m.id] = (group.index(m.id) + 1, len(group))
    return positions


def message_siblings(*, message: Message) -> list[Message]:
    """Return the message and its siblings (the versions under one parent), oldest first."""
    siblings = Message.objects.filter(conversation_id=message.conversation_id)
    if message.parent_id is None:
        siblings = siblings.filter(parent__isnull=True)
    else:
        siblings = siblings.filter(parent_id=message.parent_id)
    return list(siblings.order_by("created_at", "id"))


def message_generating(*, conversation: Conversation) -> Message | None:
    """Return the reply being generated in the conversation, if any (for Stop)."""
    return Message.objects.filter(
        conversation=conversation, status=Message.Status.IN_PROGRESS
    ).first()


# A reply that ended early and may still have text: stopped, cut off, or broken off mid-way.
CONTINUABLE_STATUSES = frozenset(
    {Message.Status.STOPPED, Message.Status.INCOMPLETE, Message.Status.FAILED}
)


def message_continuable(*, message: Message, conversation: Conversation) -> bool:
    """Return whether "Continue" applies: the active leaf, a reply that ended early with text.

    No query: the service checks it on locked rows, the message partial to show the button.
    """
    return (
        message.role == Message.Role.ASSISTANT
        and message.id == conversation.current_message_id
        and message.status in CONTINUABLE_STATUSES
        and bool(message.content.strip())
    )
