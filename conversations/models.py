from django.conf import settings
from django.db import connections, models
from django.db.models import Q
from django.db.models.base import ModelState
from django.utils import timezone

from core.ids import new_conversation_id, new_message_id

METADATA_MAX_KEYS = 16
METADATA_MAX_KEY_CHARS = 64
METADATA_MAX_VALUE_CHARS = 512
TITLE_MAX_CHARS = 200
PREVIEW_MAX_CHARS = 200
FEEDBACK_COMMENT_MAX_CHARS = 2000


class ConversationQuerySet(models.QuerySet):
    def delete(self):
        """Delete these conversations; their messages and share links go in the database."""
        Message.objects.filter(conversation__in=self.values("pk")).unthread()
        return super().delete()


class Conversation(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        LOCKED = "locked"
        CLOSED = "closed"

    public_id = models.CharField(
        max_length=64, unique=True, default=new_conversation_id, editable=False
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_CASCADE, related_name="conversations"
    )
    project = models.ForeignKey(
        "projects.Project",
        on_delete=models.DB_SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
    )
    title = models.CharField(max_length=TITLE_MAX_CHARS, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.ACTIVE)
    status_reason = models.CharField(max_length=500, blank=True)
    pinned_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # Denormalized for the sidebar; kept in the same transaction as the write that changes them.
    message_count = models.PositiveIntegerField(default=0)
    preview = models.CharField(max_length=PREVIEW_MAX_CHARS, blank=True)
    # A running sum of every reply's usage: past 2**31 on a long, busy conversation.
    token_count = models.PositiveBigIntegerField(default=0)
    # The leaf of the active branch; the visible thread is the path root -> leaf.
    current_message = models.ForeignKey(
        "Message", on_delete=models.DB_SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["owner", "-updated_at", "-id"], name="conv_sidebar_idx"),
            models.Index(fields=["updated_at"], name="conv_updated_idx"),
            # The admin's status filter: one page of locked or closed conversations, newest
            # first, without reading the active ones (SQLite cannot use a partial index here).
            models.Index(fields=["status", "-updated_at", "-id"], name="conv_status_idx"),
            # The sidebar's pinned list and the archived page: a few rows among a user's
            # 100,000, which the owner index would walk all of to find.
            models.Index(
                fields=["owner", "-updated_at", "-id"],
                condition=Q(pinned_at__isnull=False, archived_at__isnull=True),
                name="conv_pinned_idx",
            ),
            models.Index(
                fields=["owner", "-updated_at", "-id"],
                condition=Q(archived_at__isnull=False),
                name="conv_archived_idx",
            ),
        ]

    def __str__(self):
        return self.title or self.public_id

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.ACTIVE


class MessageQuerySet(models.QuerySet):
    def unthread(self) -> None:
        """Clear the parent links of these messages before deleting them on SQLite.

        SQLite runs each level of an ON DELETE CASCADE as a nested trigger and gives up past
        1,000 levels, so a long thread could not be deleted; PostgreSQL needs nothing.
        """
        if connections[self.db].vendor == "sqlite":
            self.update(parent=None)


class Message(models.Model):
    class Role(models.TextChoices):
        SYSTEM = "system"
        USER = "user"
        ASSISTANT = "assistant"
        TOOL = "tool"

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"
        STOPPED = "stopped"
        INCOMPLETE = "incomplete"
        FAILED = "failed"

    class Rating(models.TextChoices):
        UP = "up", "Good response"
        DOWN = "down", "Bad response"

    public_id = models.CharField(max_length=64, unique=True, default=new_message_id, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.DB_CASCADE, related_name="messages"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.DB_CASCADE, null=True, blank=True, related_name="children"
    )
    role = models.CharField(max_length=16, choices=Role)
    content = models.TextField(blank=True)
    # The sanitized HTML of the final content, made once when it is written (rendering.message_html)
    # by the renderer `render_version`; a row behind RENDER_VERSION renders on read until
    # `manage.py rerender_messages` catches it up. Empty while a reply streams.
    content_html = models.TextField(blank=True)
    render_version = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status, default=Status.COMPLETED)
    # Why a reply ended other than completed ("Stopped by user", "Upstream error: …").
    status_reason = models.CharField(max_length=500, blank=True)
    model = models.CharField(max_length=100, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    # An id given by someone else: the provider's completion id, or an imported node id.
    call_id = models.CharField(max_length=100, blank=True)
    # The sender's idempotency key: repeating a send with it creates nothing new.
    client_id = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # The owner's rating of a reply, on the row: only the owner reaches a message, so one
    # rating per message, and every read of a message (thread, stream, export) has it free.
    feedback_rating = models.CharField(max_length=4, choices=Rating, blank=True)
    feedback_comment = models.TextField(blank=True)
    feedback_at = models.DateTimeField(null=True, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["conversation", "parent"], name="msg_tree_idx"),
            # Small: only rated replies; the admin's per-model counts read this alone.
            models.Index(
                fields=["model", "feedback_rating"],
                condition=~Q(feedback_rating=""),
                name="msg_feedback_idx",
            ),
            # Admin: the message list filtered by role or status, newest first, and the
            # exact call id search.
            models.Index(fields=["role", "id"], name="msg_role_idx"),
            models.Index(fields=["status", "id"], name="msg_status_idx"),
            models.Index(fields=["call_id"], condition=~Q(call_id=""), name="msg_call_id_idx"),
        ]
        constraints = [
            # One generation at a time per conversation, enforced by the database.
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(status="in_progress"),
                name="msg_one_generation_per_conversation",
            ),
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                condition=Q(client_id__isnull=False),
                name="msg_unique_client_id",
            ),
        ]

    def __str__(self):
        return f"{self.role}: {self.content[:50]}"

    @classmethod
    def from_db(cls, db, field_names, values, *, fetch_mode=None):
        """Build a row read from the database without running Model.__init__ for it.

        Messages are the rows read by the dozen (a thread page reads 50): __init__ checked
        and set each of 19 fields through its descriptor, about half of a page's cost per
        message. A loaded row needs none of that: its values are the column values
        (converted by the query), and a column not read is one __dict__ leaves out, the way
        Django defers a field. Message has no pre_init or post_init receivers to skip.
        """
        new = cls.__new__(cls)
        new.__dict__.update(zip(field_names, values, strict=True))
        state = new._state = ModelState()
        state.adding = False
        state.db = db
        if fetch_mode is not None:
            state.fetch_mode = fetch_mode
        return new

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class ModerationEvent(models.Model):
    """A staff action on a conversation, kept after the conversation is gone."""

    class Action(models.TextChoices):
        LOCK = "lock"
        CLOSE = "close"
        REOPEN = "reopen"
        REVOKE_SHARES = "revoke_shares"
        DELETE = "delete"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_SET_NULL, null=True, related_name="+"
    )
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.DB_SET_NULL,
        null=True,
        blank=True,
        related_name="moderation_events",
    )
    conversation_public_id = models.CharField(max_length=64)
    conversation_title = models.CharField(max_length=TITLE_MAX_CHARS, blank=True)
    action = models.CharField(max_length=32, choices=Action)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["-created_at"], name="modevent_created_idx")]

    def __str__(self):
        return f"{self.action} {self.conversation_public_id}"
