"""Reads for /v1: pages of a conversation's items and of the key owner's conversations."""

from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Q

from conversations.models import Conversation, Message
from conversations.v1.errors import invalid

ITEM_FIELDS = ("id", "public_id", "conversation_id", "role", "content", "status")
CONVERSATION_FIELDS = ("id", "public_id", "title", "metadata", "created_at", "updated_at")

_PATH_IDS_SQL = f"""
WITH RECURSIVE path(id, parent_id, depth) AS (
    SELECT id, parent_id, 0 FROM {Message._meta.db_table}
    WHERE id = %s AND conversation_id = %s
    UNION ALL
    SELECT m.id, m.parent_id, p.depth + 1
    FROM {Message._meta.db_table} m JOIN path p ON m.id = p.parent_id
    WHERE p.depth < %s
)
SELECT id FROM path ORDER BY depth
"""


@dataclass(frozen=True)
class ItemPage:
    items: list[Message]
    has_more: bool


@dataclass(frozen=True)
class ConversationPage:
    items: list[Conversation]
    has_more: bool


def active_path_ids(*, conversation: Conversation, limit: int) -> list[int]:
    """Return the ids of up to `limit` messages of the active branch, newest (the leaf) first.

    One recursive query that walks parent links up from the leaf: `limit` primary-key
    probes reading two integers each, never a message's content.
    """
    if conversation.current_message_id is None or limit <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_PATH_IDS_SQL, [conversation.current_message_id, conversation.pk, limit - 1])
        return [row[0] for row in cursor.fetchall()]


def item_page(*, conversation: Conversation, after: str | None, limit: int, order: str) -> ItemPage:
    """Return one page of the active branch's messages (root -> leaf is ascending order).

    Cost: a branch is a linked list from the leaf up, so "the N items after X" needs to know
    where X sits on it. The newest page in descending order (the common "latest messages"
    call) walks only limit + 1 links. Every other page walks the whole branch once, reading
    ids only (at most MAX_MESSAGES_PER_CONVERSATION integer pairs, index lookups, no
    content), then loads just the page's rows by primary key. Queries: the `after` item's id
    (only when given), the path ids, the page rows.
    """
    after_pk = None
    if after:
        after_pk = (
            Message.objects.filter(conversation=conversation, public_id=after)
            .values_list("pk", flat=True)
            .first()
        )
        if after_pk is None:
            raise invalid(f"No item '{after}' in this conversation.", param="after")
    if order == "desc" and after_pk is None:
        ids = active_path_ids(conversation=conversation, limit=limit + 1)
    else:
        depth = max(conversation.message_count, settings.MAX_MESSAGES_PER_CONVERSATION)
        ids = active_path_ids(conversation=conversation, limit=depth)
        if order == "asc":
            ids.reverse()
        if after_pk is not None:
            try:
                ids = ids[ids.index(after_pk) + 1 :]
            except ValueError:
                raise invalid(
                    f"Item '{after}' is not on the conversation's current branch.",
                    param="after",
                ) from None
    page_ids = ids[:limit]
    rows = Message.objects.only(*ITEM_FIELDS).in_bulk(page_ids) if page_ids else {}
    return ItemPage(items=[rows[pk] for pk in page_ids], has_more=len(ids) > limit)


def conversation_page(*, user, after: str | None, limit: int, order: str) -> ConversationPage:
    """Return one page of the user's conversations by last activity (keyset, one query).

    Ordered like the sidebar, (updated_at, id), so the page is a range scan of the
    (owner, -updated_at, -id) index at any depth.
    """
    qs = Conversation.objects.filter(owner=user)
    if after:
        anchor = qs.filter(public_id=after).values("updated_at", "id").first()
        if anchor is None:
            raise invalid(f"No conversation '{after}'.", param="after")
        stamp, pk = anchor["updated_at"], anchor["id"]
        if order == "desc":
            qs = qs.filter(Q(updated_at__lt=stamp) | Q(updated_at=stamp, id__lt=pk))
        else:
            qs = qs.filter(Q(updated_at__gt=stamp) | Q(updated_at=stamp, id__gt=pk))
    ordering = ("-updated_at", "-id") if order == "desc" else ("updated_at", "id")
    rows = list(qs.only(*CONVERSATION_FIELDS).order_by(*ordering)[: limit + 1])
    return ConversationPage(items=rows[:limit], has_more=len(rows) > limit)
