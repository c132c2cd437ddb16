"""Writes to projects: create, update, delete."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import events
from core.text import clean_text
from projects.models import Project

TITLE_MAX_CHARS = 200
DESCRIPTION_MAX_CHARS = 2_000
INSTRUCTIONS_MAX_CHARS = 8_000


def _clean(*, title: str, description: str, instructions: str) -> tuple[str, str, str]:
    for field, value in (
        ("title", title),
        ("description", description),
        ("instructions", instructions),
    ):
        clean_text(value or "", field=field, allow_empty=True)
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


def project_delete(*, project: Project) -> None:
    """Delete a project; the database takes its conversations out of it (DB_SET_NULL)."""
    with transaction.atomic():
        project.delete()
        # One event for many rows: tabs re-fetch their sidebar whatever the row.
        _projects_changed(project.owner_id)
