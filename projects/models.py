from django.conf import settings
from django.db import models
from django.utils import timezone

from core.ids import new_project_id


class Project(models.Model):
    public_id = models.CharField(max_length=64, unique=True, default=new_project_id, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_CASCADE, related_name="projects"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # A system prompt sent before every conversation of the project.
    instructions = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["owner", "-updated_at", "-id"], name="project_owner_idx")]

    def __str__(self):
        return self.title
