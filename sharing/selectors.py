"""Reads of share links: the public lookup, the owner's list, the snapshot."""

from dataclasses import dataclass

from django.conf import settings
from django.http import Http404
from django.utils import timezone

from conversations.models import Message
from conversations.selectors import Page, keyset_page, message_path, message_path_page
from core.converters import is_public_id, is_share_token
from sharing.models import ShareLink

TOKEN_MAX_CHARS = 64
# Messages per public page, as many as the chat pane loads at once; "Show more" continues
# after the last one shown. The page's cost is rendering them, so it bounds the page's time.
SNAPSHOT_PAGE_SIZE = 50


def share_get_live(*, token: str) -> ShareLink:
    """Return the live link for a token, or raise Http404 for dead and unknown ones alike (1 query).

    Revoked, expired (compared to now: no cleanup needed), unknown, and links whose conversation,
    message or owner is gone all look the same to the visitor.
    """
    if not token or len(token) > TOKEN_MAX_CHARS or not is_share_token(token):
        raise Http404("No such link.")
    try:
        return (
            ShareLink.objects.live(now=timezone.now())
            .select_related("conversation", "message")
            .get(token=token, owner__is_active=True)
        )
    except ShareLink.DoesNotExist:
        raise Http404("No such link.") from None


def share_get_for_user(*, user, token: str | None = None, pk: int | None = None) -> ShareLink:
    """Return one of the user's links by token (or pk), or raise Http404 for missing and foreign."""
    if not getattr(user, "is_authenticated", False) or (token is None and pk is None):
        raise Http404("No such link.")
    if token is not None and not is_share_token(token):
        raise Http404("No such link.")
    lookup = {"token": token} if token is not None else {"pk": pk}
    try:
        return ShareLink.objects.select_related("conversation").get(owner=user, **lookup)
    except ShareLink.DoesNotExist:
        raise Http404("No such link.") from None


def share_list_for_user(*, user, cursor: str | None = None, limit: int = 100) -> Page:
    """Return one page of the user's links, newest first, with their conversations (1 query)."""
    links = (
        ShareLink.objects.filter(owner=user)
        .select_related("conversation")
        .defer("conversation__metadata", "conversation__preview", "conversation__status_reason")
    )
    return keyset_page(links, field="created_at", cursor=cursor, limit=limit)


def share_snapshot_messages(*, share: ShareLink) -> list[Message]:
    """Return what the link shows, oldest first: the path from the first message to the cut-off.

    Without context it is the cut-off message alone. Other branches and later messages never
    appear, because the path is walked upwards from the cut-off. System messages carry
    instructions, not conversation, so they stay private unless shared on their own.
    """
    if not share.include_context:
        return [share.message]
    path = message_path(
        conversation=share.conversation,
        leaf_id=share.message_id,
        limit=settings.MAX_MESSAGES_PER_CONVERSATION,
    )
    return [m for m in path if m.role != Message.Role.SYSTEM or m.pk == share.message_id]


@dataclass(frozen=True)
class SnapshotPage:
    messages: list[Message]
    # The public id to continue after, or None on the last page.
    next_after: str | None


def share_snapshot_page(
    *, share: ShareLink, after: str | None = None, limit: int = SNAPSHOT_PAGE_SIZE
) -> SnapshotPage:
    """Return one page of what the link shows, oldest first, after message `after` (1 query).

    A keyset on the path: the first page starts at the first message, each next one after
    the last message of the page before. An `after` that is not in the snapshot is Http404.
    """
    if after is not None and not is_public_id(after, prefix="msg"):
        raise Http404("No such message.")
    if not share.include_context:
        if after is not None:
            raise Http404("No such message.")
        return SnapshotPage(messages=[share.message], next_after=None)
    rows = message_path_page(
        conversation=share.conversation,
        leaf_id=share.message_id,
        after_public_id=after,
        limit=limit + 1,
        depth=settings.MAX_MESSAGES_PER_CONVERSATION,
    )
    if after is not None and not rows:
        raise Http404("No such message.")
    next_after = rows[limit - 1].public_id if len(rows) > limit else None
    shown = [m for m in rows[:limit] if m.role != Message.Role.SYSTEM or m.pk == share.message_id]
    return SnapshotPage(messages=shown, next_after=next_after)
