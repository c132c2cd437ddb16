"""Writes to projects: create, update, delete."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from conversations.models import Conversation
from core import events
from projects.models import Project

TITLE_MAX_CHARS = 200
DESCRIPTION_MAX_CHARS = 2_000
INSTRUCTIONS_MAX_CHARS = 8_000


def _clean(*, title: str, description: str, instructions: str) -> tuple[str, str, str]:
    title = " ".join((title or "").split())
    description = (description or "").strip()
    instructions = (instructions or "").strip()
    errors = {}
    if not title:
        errors["title"] = "Enter a name for the project."
    elif len(title) > TITLE_MAX_CHARS:
        errors["title"] = f"Keep the name to {TITLE_MAX_CHARS} characters."
    if len(description) > DESCRIPTION_MAX_CHARS:
        errors["description"] = f"Keep the description to {DESCRIPTION_MAX_CHARS:,} characters."
    if len(instructions) > INSTRUCTIONS_MAX_CHARS:
        errors["instructions"] = f"Keep the instructions to {INSTRUCTIONS_MAX_CHARS:,} characters."
    if errors:
        raise ValidationError(errors)
    return title, description, instructions


def project_create(*, owner, title: str, description: str = "", instructions: str = "") -> Project:
    """Create a project for owner."""
    title, description, instructions = _clean(
        title=title, description=description, instructions=instructions
    )
    with transaction.atomic():
        project = Project.objects.create(
            owner=owner, title=title, description=description, instructions=instructions
        )
        _projects_changed(owner.pk)
    return project


def _projects_changed(user_id: int) -> None:
    events.sidebar_changed(user_id=user_id, conversation_public_id="", action="projects")


def project_update(
    *, project: Project, title: str, description: str = "", instructions: str = ""
) -> Project:
    """Rename and describe a project and set the instructions its conversations get."""
    project.title, project.description, project.instructions = _clean(
        title=title, description=description, instructions=instructions
    )
    project.updated_at = timezone.now()
    with transaction.atomic():
        project.save(update_fields=["title", "description", "instructions", "updated_at"])
        _projects_changed(project.owner_id)
    return project


def project_delete(*, project: Project, delete_conversations: bool) -> int:
    """Delete a project; its conversations go too or stay, outside any project.

    Return how many conversations were deleted (0 when they are kept).
    """
    with transaction.atomic():
        conversations = Conversation.objects.filter(project=project)
        deleted = 0
        if delete_conversations:
            # Messages and share links go with them in the database (DB_CASCADE).
            deleted = conversations.delete()[1].get("conversations.Conversation", 0)
        # Otherwise the database sets their project to NULL (DB_SET_NULL).
        project.delete()
        # One event for many rows: tabs re-fetch their sidebar whatever the row.
        _projects_changed(project.owner_id)
    return deleted
