"""Actions on many of one user's conversations at once, each a fixed number of queries."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from conversations.models import Conversation
from core import events
from core.converters import is_public_id

MAX_BULK = 100


@dataclass(frozen=True)
class BulkResult:
    count: int
    failed: list[str] = field(default_factory=list)


def _owned(*, user, public_ids: list[str]) -> tuple[dict[str, int], list[str]]:
    """Return {public_id: pk} of the user's conversations among public_ids, and the rest."""
    ids = list(dict.fromkeys(str(i) for i in public_ids))
    if not ids:
        raise ValidationError({"public_ids": "Select at least one conversation."})
    if len(ids) > MAX_BULK:
        raise ValidationError({"public_ids": f"Select at most {MAX_BULK} conversations."})
    # Only ids of the right shape reach the query (one with a NUL would be a database error).
    shaped = [i for i in ids if is_public_id(i, prefix="conv")]
    found = dict(
        Conversation.objects.filter(owner=user, public_id__in=shaped).values_list("public_id", "pk")
    )
    return found, [i for i in ids if i not in found]


def _changed(user, action: str) -> None:
    # One event for many rows: tabs re-fetch their sidebar whatever the row.
    events.sidebar_changed(user_id=user.pk, conversation_public_id="", action=action)


def conversations_bulk_delete(*, user, public_ids: list[str]) -> BulkResult:
    """Delete the user's conversations among public_ids; report ids that are not theirs."""
    with transaction.atomic():
        found, failed = _owned(user=user, public_ids=public_ids)
        # Messages and share links go with them in the database (DB_CASCADE).
        Conversation.objects.filter(pk__in=found.values()).delete()
        _changed(user, "deleted")
    return BulkResult(count=len(found), failed=failed)


def conversations_bulk_archive(*, user, public_ids: list[str], archived: bool = True) -> BulkResult:
    """Archive (or unarchive) the user's conversations among public_ids."""
    with transaction.atomic():
        found, failed = _owned(user=user, public_ids=public_ids)
        Conversation.objects.filter(pk__in=found.values()).update(
            archived_at=timezone.now() if archived else None
        )
        _changed(user, "archived" if archived else "unarchived")
    return BulkResult(count=len(found), failed=failed)


def conversations_bulk_move(*, user, public_ids: list[str], project=None) -> BulkResult:
    """Move the user's conversations among public_ids into project (None: out of any)."""
    if project is not None and project.owner_id != user.pk:
        raise ValidationError({"project": "No such project."})
    with transaction.atomic():
        found, failed = _owned(user=user, public_ids=public_ids)
        Conversation.objects.filter(pk__in=found.values()).update(project=project)
        _changed(user, "moved")
    return BulkResult(count=len(found), failed=failed)
