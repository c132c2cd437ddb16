"""Reads of projects, always scoped to their owner."""

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from core.converters import is_public_id
from projects.models import Project


def project_get_for_user(*, user, public_id: str) -> Project:
    """Return the user's project, or raise Http404 for a missing or foreign one alike."""
    if not getattr(user, "is_authenticated", False) or not is_public_id(public_id, prefix="proj"):
        # An id that cannot exist is a 404 before any query.
        raise Http404("No such project.")
    try:
        return Project.objects.get(owner=user, public_id=public_id)
    except Project.DoesNotExist:
        raise Http404("No such project.") from None


def project_list_for_user(*, user) -> QuerySet[Project]:
    """Return the user's projects, newest activity first, each with `conversation_count`.

    The count (archived conversations excluded) is annotated in the same query.
    """
    if not getattr(user, "is_authenticated", False):
        return Project.objects.none()
    return (
        Project.objects.filter(owner=user)
        .annotate(
            conversation_count=Count(
                "conversations", filter=Q(conversations__archived_at__isnull=True)
            )
        )
        .order_by("-updated_at", "-id")
    )
