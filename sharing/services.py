"""Writes to share links: create, revoke, count views, continue, purge."""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.services import conversation_copy_messages
from sharing.models import ShareLink
from sharing.selectors import share_snapshot_messages

PURGE_BATCH_SIZE = 1000


def _expiry(*, expires_in: timedelta | None, expires_at: datetime | None) -> datetime | None:
    """Return the absolute expiry for the given relative or absolute one, or raise."""
    if expires_in is not None and expires_at is not None:
        raise ValidationError({"expires_at": "Give an expiry duration or a date, not both."})
    now = timezone.now()
    if expires_in is not None:
        if expires_in <= timedelta(0):
            raise ValidationError({"expires_at": "The expiry must be in the future."})
        return now + expires_in
    if expires_at is not None:
        if timezone.is_naive(expires_at):
            raise ValidationError({"expires_at": "Give the expiry with a time zone."})
        if expires_at <= now:
            raise ValidationError({"expires_at": "The expiry must be in the future."})
    return expires_at


def share_create(
    *,
    user,
    conversation: Conversation,
    message: Message | None = None,
    include_context: bool = True,
    show_model_names: bool = True,
    expires_in: timedelta | None = None,
    expires_at: datetime | None = None,
) -> ShareLink:
    """Create a read-only link to a snapshot of the conversation, or of one message.

    A conversation share freezes the active branch at its current leaf: later messages never show.
    """
    if conversation.owner_id != user.pk:
        raise ValidationError({"conversation": "No such conversation."})
    expiry = _expiry(expires_in=expires_in, expires_at=expires_at)
    with transaction.atomic():
        if message is None:
            # Read the leaf under the row lock so a send in flight cannot slip past the check.
            leaf_id = (
                Conversation.objects.select_for_update()
                .values_list("current_message_id", flat=True)
                .get(pk=conversation.pk)
            )
            if leaf_id is None:
                raise ValidationError(
                    {"conversation": "This conversation has no messages yet; nothing to share."}
                )
            message = Message.objects.get(pk=leaf_id)
            include_context = True
        elif message.conversation_id != conversation.pk:
            raise ValidationError({"message": "No such message in this conversation."})
        if message.status == Message.Status.IN_PROGRESS:
            raise ValidationError(
                {"message": "This reply is still being written. Share it once it has finished."}
            )
        return ShareLink.objects.create(
            owner=user,
            conversation=conversation,
            message=message,
            include_context=include_context,
            show_model_names=show_model_names,
            expires_at=expiry,
        )


def share_revoke(*, share: ShareLink) -> ShareLink:
    """Revoke a link; it answers 404 from the next request on. Revoking twice keeps the first."""
    if share.revoked_at is None:
        now = timezone.now()
        updated = ShareLink.objects.filter(pk=share.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if updated:
            share.revoked_at = now
        else:
            share.refresh_from_db(fields=["revoked_at"])
    return share


def share_revoke_all(*, user=None, conversation: Conversation | None = None) -> int:
    """Revoke every unrevoked link of a user and/or a conversation; return how many."""
    if user is None and conversation is None:
        raise ValueError("Pass a user, a conversation, or both.")
    links = ShareLink.objects.filter(revoked_at__isnull=True)
    if user is not None:
        links = links.filter(owner=user)
    if conversation is not None:
        links = links.filter(conversation=conversation)
    return links.update(revoked_at=timezone.now())


def share_record_view(*, share: ShareLink) -> None:
    """Count one view with an atomic increment in the database (no read-modify-write)."""
    ShareLink.objects.filter(pk=share.pk).update(view_count=F("view_count") + 1)


def share_continue(*, share: ShareLink, user) -> Conversation:
    """Copy the snapshot into the user's account as a new conversation and return it."""
    snapshot = share_snapshot_messages(share=share)
    # The viewer may not learn what the owner chose to hide.
    return conversation_copy_messages(
        owner=user,
        title=share.conversation.title,
        messages=snapshot,
        keep_models=share.show_model_names,
    )


def _purgeable(*, before: datetime):
    return ShareLink.objects.filter(Q(revoked_at__lt=before) | Q(expires_at__lt=before))


def share_count_purgeable(*, before: datetime) -> int:
    """Return how many links were revoked or expired before the given moment."""
    return _purgeable(before=before).count()


def share_purge(*, before: datetime, batch_size: int = PURGE_BATCH_SIZE) -> int:
    """Delete links revoked or expired before the given moment in batches; return how many."""
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(_purgeable(before=before).values_list("pk", flat=True)[:batch_size])
            if not ids:
                return deleted
            deleted += ShareLink.objects.filter(pk__in=ids).delete()[0]
