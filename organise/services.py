"""Writes that span projects and conversations."""

from django.db import transaction

from conversations.models import Conversation
from projects import services as project_services
from projects.models import Project


def project_delete(*, project: Project, delete_conversations: bool) -> int:
    """Delete a project; its conversations go too or stay, outside any project.

    Return how many conversations were deleted (0 when they are kept).
    """
    with transaction.atomic():
        deleted = 0
        if delete_conversations:
            # Messages and share links go with them in the database (DB_CASCADE).
            conversations = Conversation.objects.filter(project=project)
            deleted = conversations.delete()[1].get("conversations.Conversation", 0)
        project_services.project_delete(project=project)
    return deleted
