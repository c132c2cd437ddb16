"""Reads for /v1: pages of a conversation's items and of the key owner's conversations."""

from dataclasses import dataclass

from django.conf import settings

from conversations.models import Conversation, Message
from conversations.selectors import keyset_after, message_path, message_path_ids
from v1.errors import invalid

ITEM_FIELDS = ("id", "public_id", "conversation_id", "role", "content", "status")
CONVERSATION_FIELDS = (
    "id",
    "public_id",
    "title",
    "metadata",
    "created_at",
    "updated_at",
    "message_count",
    "project__public_id",
)


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
    return message_path_ids(
        conversation=conversation, leaf_id=conversation.current_message_id, limit=limit
    )


def item_page(*, conversation: Conversation, after: str | None, limit: int, order: str) -> ItemPage:
    """Return one page of the active branch's messages (root -> leaf is ascending order).

    A branch is a linked list from the leaf up, so the cost depends on the direction:

    - desc (the default) is a true keyset walk: the page is the `limit` ancestors of the
      `after` item (of the leaf on the first page), one recursive query that reads
      limit + 1 rows however deep the conversation is. An `after` item that is no longer
      on the current branch (the user switched branches mid-iteration) continues down its
      own history, so an iteration stays consistent.
    - asc has to find the root end of the branch: it walks the whole branch once reading
      ids only (at most MAX_MESSAGES_PER_CONVERSATION integer pairs by primary key, about
      25 ms on SQLite and 60 ms on PostgreSQL at 10,000 messages, never their content),
      then loads just the page's rows.

    Queries: the `after` item (only when given), then the path (desc), or the path ids and
    the page's rows (asc).
    """
    anchor = None
    if after:
        anchor = (
            Message.objects.filter(conversation=conversation, public_id=after)
            .values("pk", "parent_id")
            .first()
        )
        if anchor is None:
            raise invalid(f"No item '{after}' in this conversation.", param="after")
    if order == "desc":
        start = anchor["parent_id"] if anchor else conversation.current_message_id
        newest_first = message_path(conversation=conversation, leaf_id=start, limit=limit + 1)[::-1]
        return ItemPage(items=newest_first[:limit], has_more=len(newest_first) > limit)

    depth = max(conversation.message_count, settings.MAX_MESSAGES_PER_CONVERSATION)
    ids = active_path_ids(conversation=conversation, limit=depth)[::-1]
    if anchor is not None:
        try:
            ids = ids[ids.index(anchor["pk"]) + 1 :]
        except ValueError:
            raise invalid(
                f"Item '{after}' is not on the conversation's current branch.", param="after"
            ) from None
    page_ids = ids[:limit]
    rows = Message.objects.only(*ITEM_FIELDS).in_bulk(page_ids) if page_ids else {}
    return ItemPage(items=[rows[pk] for pk in page_ids], has_more=len(ids) > limit)


def conversation_page(
    *, user, after: str | None, limit: int, order: str, project=None
) -> ConversationPage:
    """Return one page of the user's conversations by last activity (keyset, one query).

    Ordered like the sidebar, (updated_at, id), so the page is a range scan of the
    (owner, -updated_at, -id) index at any depth.
    """
    qs = Conversation.objects.filter(owner=user)
    if project is not None:
        qs = qs.filter(project=project)
    if after:
        anchor = qs.filter(public_id=after).values("updated_at", "id").first()
        if anchor is None:
            raise invalid(f"No conversation '{after}'.", param="after")
        stamp, pk = anchor["updated_at"], anchor["id"]
        qs = keyset_after(qs, field="updated_at", stamp=stamp, pk=pk, descending=order == "desc")
    ordering = ("-updated_at", "-id") if order == "desc" else ("updated_at", "id")
    rows = list(
        qs.select_related("project").only(*CONVERSATION_FIELDS).order_by(*ordering)[: limit + 1]
    )
    return ConversationPage(items=rows[:limit], has_more=len(rows) > limit)
