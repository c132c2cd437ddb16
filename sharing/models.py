import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_share_token() -> str:
    """Return a URL-safe token carrying 256 random bits."""
    return secrets.token_urlsafe(32)


class ShareLinkQuerySet(models.QuerySet):
    def live(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ShareLink(models.Model):
    token = models.CharField(max_length=64, unique=True, default=new_share_token, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_CASCADE, related_name="share_links"
    )
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.DB_CASCADE, related_name="share_links"
    )
    # The snapshot cut-off: the last message shown. Later messages never appear.
    message = models.ForeignKey(
        "conversations.Message", on_delete=models.DB_CASCADE, related_name="share_links"
    )
    # False shares only `message`; True shares the path from the first message to it.
    include_context = models.BooleanField(default=True)
    show_model_names = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    view_count = models.PositiveIntegerField(default=0)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["owner", "-created_at"], name="share_owner_idx")]

    def __str__(self):
        return f"share of {self.conversation_id}"
