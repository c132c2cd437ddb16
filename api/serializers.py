"""The /api input and output serializers: public ids only, never a primary key or an owner."""

from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from conversations import services
from conversations.models import (
    FEEDBACK_COMMENT_MAX_CHARS,
    METADATA_MAX_KEY_CHARS,
    METADATA_MAX_KEYS,
    METADATA_MAX_VALUE_CHARS,
    TITLE_MAX_CHARS,
    Conversation,
    Message,
)
from projects import services as project_services

BULK_MAX_IDS = 100
LIST_DEFAULT_LIMIT = 20
LIST_MAX_LIMIT = 100
THREAD_DEFAULT_LIMIT = 50
MAX_EXPIRY = timedelta(days=3650)


# Output serializers: public ids only, never a primary key or an owner.


class FeedbackOut(serializers.Serializer):
    rating = serializers.ChoiceField(choices=Message.Rating.choices, source="feedback_rating")
    comment = serializers.CharField(source="feedback_comment")
    updated_at = serializers.DateTimeField(source="feedback_at")


class MessageOut(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    role = serializers.ChoiceField(choices=Message.Role.choices)
    content = serializers.CharField()
    status = serializers.ChoiceField(choices=Message.Status.choices)
    status_reason = serializers.CharField()
    model = serializers.CharField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    feedback = serializers.SerializerMethodField(
        help_text="The owner's rating of a reply, or null."
    )

    @extend_schema_field(FeedbackOut(allow_null=True))
    def get_feedback(self, message) -> dict | None:
        return FeedbackOut(message).data if message.feedback_rating else None


class ConversationSummaryOut(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    title = serializers.CharField()
    project = serializers.CharField(
        source="project.public_id", allow_null=True, help_text="Project id, or null."
    )
    status = serializers.ChoiceField(choices=Conversation.Status.choices)
    pinned = serializers.SerializerMethodField()
    archived = serializers.SerializerMethodField()
    message_count = serializers.IntegerField()
    preview = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_pinned(self, conversation) -> bool:
        return conversation.pinned_at is not None

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_archived(self, conversation) -> bool:
        return conversation.archived_at is not None


class ConversationOut(ConversationSummaryOut):
    status_reason = serializers.CharField()
    metadata = serializers.DictField(child=serializers.CharField())


class ConversationPageOut(serializers.Serializer):
    data = ConversationSummaryOut(many=True, help_text="Without metadata: get one for it.")
    has_more = serializers.BooleanField()
    next_after = serializers.CharField(
        allow_null=True, help_text="Pass as `after` to get the next page; null on the last."
    )


class ConversationDetailOut(ConversationOut):
    messages = MessageOut(
        source="thread", many=True, help_text="The active branch's newest messages, oldest first."
    )
    has_older = serializers.BooleanField()
    older_before = serializers.CharField(
        allow_null=True,
        help_text="Pass as `before` to get the older messages; null when there are none.",
    )


class SendOut(serializers.Serializer):
    user_message = MessageOut()
    assistant_message = MessageOut(help_text="The reply, `in_progress` until it ends.")


class StopOut(serializers.Serializer):
    stopped = serializers.BooleanField(help_text="False when nothing was being generated.")
    message = MessageOut(allow_null=True)


class SiblingsOut(serializers.Serializer):
    data = MessageOut(many=True, help_text="The message and its siblings, oldest first.")
    position = serializers.IntegerField(help_text="1-based position of the message.")


class BulkDeleteOut(serializers.Serializer):
    deleted_count = serializers.IntegerField()
    failed_count = serializers.IntegerField()
    failed_ids = serializers.ListField(child=serializers.CharField())


# Input serializers.


class MetadataField(serializers.DictField):
    """A map of at most 16 string pairs (keys up to 64, values up to 512 characters)."""

    def __init__(self, **kwargs):
        super().__init__(
            child=serializers.CharField(max_length=METADATA_MAX_VALUE_CHARS, allow_blank=True),
            **kwargs,
        )

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        # Strings only: the CharField child would quietly turn 1 into "1".
        if any(not isinstance(v, str) for v in data.values()):
            raise serializers.ValidationError("Metadata keys and values must be strings.")
        try:
            return services.validate_metadata(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class ListQuery(serializers.Serializer):
    after = serializers.CharField(
        required=False, allow_blank=True, help_text="Cursor from the previous page's `next_after`."
    )
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=LIST_MAX_LIMIT,
        default=LIST_DEFAULT_LIMIT,
        help_text="Page size, 1 to 100.",
    )
    project = serializers.CharField(
        required=False, allow_blank=True, help_text="Only this project's conversations."
    )
    pinned = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Only pinned (true) or only unpinned (false) conversations.",
    )
    archived = serializers.BooleanField(
        required=False, default=False, help_text="List archived conversations instead."
    )
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Search titles and messages: the `limit` best matches, one page, no cursor.",
    )


class ProjectConversationsQuery(ListQuery):
    project = None


class ConversationIn(serializers.Serializer):
    title = serializers.CharField(required=False, allow_blank=True, max_length=TITLE_MAX_CHARS)
    project = serializers.CharField(required=False, allow_null=True, help_text="Project id.")
    metadata = MetadataField(
        required=False,
        help_text=f"Up to {METADATA_MAX_KEYS} keys of up to {METADATA_MAX_KEY_CHARS} characters.",
    )


class ConversationUpdateIn(ConversationIn):
    title = serializers.CharField(required=False, max_length=TITLE_MAX_CHARS)
    pinned = serializers.BooleanField(required=False)
    archived = serializers.BooleanField(required=False)


class ThreadQuery(serializers.Serializer):
    before = serializers.CharField(
        required=False, allow_blank=True, help_text="Message id from `older_before`."
    )
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=LIST_MAX_LIMIT,
        default=THREAD_DEFAULT_LIMIT,
        help_text="How many messages, 1 to 100.",
    )


class SendIn(serializers.Serializer):
    content = serializers.CharField(help_text="Markdown; too long a message is a 413.")
    client_id = serializers.CharField(
        required=False,
        max_length=64,
        help_text="Idempotency key: repeating a send with it returns the first result.",
    )
    model = serializers.CharField(required=False, max_length=100)


class RegenerateIn(serializers.Serializer):
    model = serializers.CharField(required=False, max_length=100)


class FeedbackIn(serializers.Serializer):
    rating = serializers.ChoiceField(choices=Message.Rating.choices)
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=FEEDBACK_COMMENT_MAX_CHARS,
        trim_whitespace=False,
    )


class BulkDeleteIn(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.CharField(max_length=64), min_length=1, max_length=BULK_MAX_IDS
    )


# Projects.


class ProjectOut(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    title = serializers.CharField()
    description = serializers.CharField()
    instructions = serializers.CharField(help_text="System prompt for its conversations.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ProjectListItemOut(ProjectOut):
    conversation_count = serializers.IntegerField(help_text="Not counting archived ones.")


class ProjectListOut(serializers.Serializer):
    data = ProjectListItemOut(many=True)


class ProjectIn(serializers.Serializer):
    title = serializers.CharField(max_length=project_services.TITLE_MAX_CHARS)
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=project_services.DESCRIPTION_MAX_CHARS
    )
    instructions = serializers.CharField(
        required=False, allow_blank=True, max_length=project_services.INSTRUCTIONS_MAX_CHARS
    )


class ProjectUpdateIn(ProjectIn):
    title = serializers.CharField(required=False, max_length=project_services.TITLE_MAX_CHARS)


class ProjectDeleteQuery(serializers.Serializer):
    delete_conversations = serializers.BooleanField(
        required=False, default=False, help_text="Delete its conversations too."
    )


# Share links.


class ShareOut(serializers.Serializer):
    token = serializers.CharField(help_text="The secret part of the link; also its id here.")
    url = serializers.SerializerMethodField()
    conversation = serializers.CharField(source="conversation.public_id")
    message = serializers.CharField(
        source="message.public_id", help_text="The last message the link shows."
    )
    include_context = serializers.BooleanField()
    show_model_names = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    view_count = serializers.IntegerField()

    def get_url(self, share) -> str:
        return self.context["request"].build_absolute_uri(reverse("share-view", args=[share.token]))


class SharePageOut(serializers.Serializer):
    data = ShareOut(many=True)
    has_more = serializers.BooleanField()
    next_after = serializers.CharField(allow_null=True)


class ShareIn(serializers.Serializer):
    message = serializers.CharField(
        required=False,
        help_text="Share only up to this message; by default the whole active branch.",
    )
    include_context = serializers.BooleanField(
        required=False, default=True, help_text="With `message`: show the messages before it."
    )
    show_model_names = serializers.BooleanField(required=False, default=True)
    expires_in = serializers.IntegerField(
        required=False,
        min_value=60,
        max_value=int(MAX_EXPIRY.total_seconds()),
        help_text="Seconds until the link stops working.",
    )
    expires_at = serializers.DateTimeField(required=False)


class ShareListQuery(serializers.Serializer):
    after = serializers.CharField(
        required=False, allow_blank=True, help_text="Cursor from the previous page's `next_after`."
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=100, default=20, help_text="Page size, 1 to 100."
    )


def parse(serializer_class, data) -> dict:
    """Validate data (a dict, never a QueryDict) with serializer_class; return the values."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
