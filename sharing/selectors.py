"""Reads of share links: the public lookup, the owner's list, the snapshot."""

import base64
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from conversations.models import Message
from conversations.selectors import message_path
from sharing.models import ShareLink

TOKEN_MAX_CHARS = 64


class InvalidCursor(ValueError):
    """The pagination cursor was not one this server handed out."""


@dataclass(frozen=True)
class SharePage:
    items: list[ShareLink]
    next_cursor: str | None


def share_get_live(*, token: str) -> ShareLink:
    """Return the live link for a token, or raise Http404 for dead and unknown ones alike (1 query).

    Revoked, expired (compared to now: no cleanup needed), unknown, and links whose conversation,
    message or owner is gone all look the same to the visitor.
    """
    if not token or len(token) > TOKEN_MAX_CHARS:
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
    lookup = {"token": token} if token is not None else {"pk": pk}
    try:
        return ShareLink.objects.select_related("conversation").get(owner=user, **lookup)
    except ShareLink.DoesNotExist:
        raise Http404("No such link.") from None


def _encode_cursor(share: ShareLink) -> str:
    raw = f"{share.created_at.isoformat()}|{share.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, pk = raw.split("|")
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None:
            raise ValueError("naive timestamp")
        return created_at, int(pk)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("Invalid cursor.") from exc


def share_list_for_user(*, user, cursor: str | None = None, limit: int = 100) -> SharePage:
    """Return one page of the user's links, newest first, with their conversations (1 query)."""
    links = ShareLink.objects.filter(owner=user).select_related("conversation")
    if cursor:
        created_at, pk = _decode_cursor(cursor)
        links = links.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))
    rows = list(
        links.defer(
            "conversation__metadata", "conversation__preview", "conversation__status_reason"
        ).order_by("-created_at", "-pk")[: limit + 1]
    )
    if len(rows) > limit:
        rows = rows[:limit]
        return SharePage(items=rows, next_cursor=_encode_cursor(rows[-1]))
    return SharePage(items=rows, next_cursor=None)


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
