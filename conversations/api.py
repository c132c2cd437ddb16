"""DRF endpoints for conversations and messages: thin over the selectors and services."""

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.throttling import GenerationThrottle, WriteThrottle
from chatbot.api_errors import error_responses
from conversations import selectors, services
from conversations.models import (
    METADATA_MAX_KEY_CHARS,
    METADATA_MAX_KEYS,
    METADATA_MAX_VALUE_CHARS,
    TITLE_MAX_CHARS,
    Conversation,
    Message,
)
from conversations.search import conversation_search

BULK_MAX_IDS = 100
LIST_DEFAULT_LIMIT = 20
LIST_MAX_LIMIT = 100
THREAD_DEFAULT_LIMIT = 50

CONV_ID = "conv_3f2a9c0d4e5b6a7980f1e2d3c4b5a69788796a5b4c3d2e1f"
MSG_ID = "msg_8e7d6c5b4a392817f6e5d4c3b2a19087a6b5c4d3e2f1a0b9"
MSG_ID_2 = "msg_1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081"
PROJ_ID = "proj_5c4b3a291807f6e5d4c3b2a190f8e7d6c5b4a3928170f6e5"
STAMP = "2026-11-21T18:30:00Z"

CONVERSATION_EXAMPLE = {
    "id": CONV_ID,
    "title": "Trip to Lisbon",
    "project": PROJ_ID,
    "status": "active",
    "status_reason": "",
    "pinned": False,
    "archived": False,
    "metadata": {"source": "mobile"},
    "message_count": 4,
    "preview": "What should I see in Alfama?",
    "created_at": STAMP,
    "updated_at": STAMP,
}
USER_MESSAGE_EXAMPLE = {
    "id": MSG_ID,
    "role": "user",
    "content": "What should I see in Alfama?",
    "status": "completed",
    "status_reason": "",
    "model": "",
    "input_tokens": 0,
    "output_tokens": 0,
    "created_at": STAMP,
    "updated_at": STAMP,
}
REPLY_EXAMPLE = {
    **USER_MESSAGE_EXAMPLE,
    "id": MSG_ID_2,
    "role": "assistant",
    "content": "",
    "status": "in_progress",
    "model": "gpt-4o-mini",
}


# Output serializers: public ids only, never a primary key or an owner.


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


class ConversationOut(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    title = serializers.CharField()
    project = serializers.CharField(
        source="project.public_id", allow_null=True, help_text="Project id, or null."
    )
    status = serializers.ChoiceField(choices=Conversation.Status.choices)
    status_reason = serializers.CharField()
    pinned = serializers.SerializerMethodField()
    archived = serializers.SerializerMethodField()
    metadata = serializers.DictField(child=serializers.CharField())
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


class ConversationPageOut(serializers.Serializer):
    data = ConversationOut(many=True)
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
        services.validate_metadata(value)
        return value


class ListQuery(serializers.Serializer):
    after = serializers.CharField(required=False, help_text="Cursor from `next_after`.")
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=LIST_MAX_LIMIT, default=LIST_DEFAULT_LIMIT
    )
    project = serializers.CharField(required=False, help_text="Only this project's.")
    pinned = serializers.BooleanField(required=False, allow_null=True, default=None)
    archived = serializers.BooleanField(
        required=False, default=False, help_text="List archived conversations instead."
    )
    q = serializers.CharField(required=False, max_length=200, help_text="Search text.")


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
    before = serializers.CharField(required=False, help_text="Message id from `older_before`.")
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=LIST_MAX_LIMIT, default=THREAD_DEFAULT_LIMIT
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


class BulkDeleteIn(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.CharField(max_length=64), min_length=1, max_length=BULK_MAX_IDS
    )


def parse(serializer_class, data) -> dict:
    """Validate data (a dict, never a QueryDict) with serializer_class; return the values."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def project_for_user(user, public_id: str | None):
    """Return the user's project for an input field, or None; a bad id is a field error."""
    if not public_id:
        return None
    from projects.selectors import project_get_for_user

    try:
        return project_get_for_user(user=user, public_id=public_id)
    except Http404:
        raise serializers.ValidationError({"project": ["No such project."]}) from None


def send_response(result: services.SendResult) -> Response:
    """Answer a generation start: 202 when new, 200 when an idempotent repeat."""
    body = SendOut(
        {"user_message": result.user_message, "assistant_message": result.assistant_message}
    ).data
    return Response(body, status=status.HTTP_202_ACCEPTED if result.created else status.HTTP_200_OK)


def conversation_page_response(page: selectors.Page) -> Response:
    # One query for every row's project id, whatever the page size.
    prefetch_related_objects(page.items, "project")
    return Response(
        ConversationPageOut(
            {"data": page.items, "has_more": page.has_more, "next_after": page.next_cursor}
        ).data
    )


def conversation_page(*, user, query: dict, project=None) -> selectors.Page:
    """Return the page a list query asks for (the best search matches when it has `q`)."""
    if query.get("q"):
        # Ranked by relevance: one page of the best matches, no cursor.
        if query.get("after"):
            raise serializers.ValidationError({"after": ["Search results have no next page."]})
        results = conversation_search(
            user=user,
            query=query["q"],
            project=project,
            archived=query["archived"],
            pinned=query["pinned"],
            limit=query["limit"],
        )
        return selectors.Page(items=[r.conversation for r in results], next_cursor=None)
    try:
        return selectors.conversation_list_for_sidebar(
            user=user,
            cursor=query.get("after"),
            limit=query["limit"],
            archived=query["archived"],
            pinned=query["pinned"],
            project=project,
        )
    except selectors.InvalidCursor:
        raise serializers.ValidationError({"after": ["Invalid cursor."]}) from None


LIST_PARAMETERS = [
    OpenApiParameter("after", str, description="Cursor from the previous page's `next_after`."),
    OpenApiParameter("limit", int, description="1 to 100, default 20."),
    OpenApiParameter("pinned", bool, description="Only pinned (true) or unpinned (false)."),
    OpenApiParameter("archived", bool, description="Archived conversations instead (true)."),
    OpenApiParameter(
        "q",
        str,
        description="Search titles and messages: the `limit` best matches, one page, no cursor.",
    ),
]
PAGE_EXAMPLE = OpenApiExample(
    "A page",
    value={"data": [CONVERSATION_EXAMPLE], "has_more": True, "next_after": "MjAyNi0xMS0yMVQ"},
    response_only=True,
)
CONVERSATION_RESPONSE_EXAMPLE = OpenApiExample(
    "Conversation", value=CONVERSATION_EXAMPLE, response_only=True
)
SEND_RESPONSE_EXAMPLE = OpenApiExample(
    "Generation started",
    value={"user_message": USER_MESSAGE_EXAMPLE, "assistant_message": REPLY_EXAMPLE},
    response_only=True,
)


class ConversationListView(APIView):
    @extend_schema(
        operation_id="conversations_list",
        summary="List your conversations, most recent activity first",
        parameters=[
            *LIST_PARAMETERS,
            OpenApiParameter("project", str, description="Only this project's conversations."),
        ],
        responses={200: ConversationPageOut, **error_responses(400)},
        examples=[PAGE_EXAMPLE],
    )
    def get(self, request):
        query = parse(ListQuery, request.query_params.dict())
        project = project_for_user(request.user, query.get("project"))
        return conversation_page_response(
            conversation_page(user=request.user, query=query, project=project)
        )

    @extend_schema(
        operation_id="conversations_create",
        summary="Create an empty conversation",
        request=ConversationIn,
        responses={201: ConversationOut, **error_responses(400, 413, 429)},
        examples=[
            OpenApiExample(
                "New conversation",
                value={"title": "Trip to Lisbon", "project": PROJ_ID, "metadata": {"k": "v"}},
                request_only=True,
            ),
            CONVERSATION_RESPONSE_EXAMPLE,
        ],
    )
    def post(self, request):
        data = parse(ConversationIn, request.data)
        conversation = services.conversation_create(
            owner=request.user,
            title=data.get("title", ""),
            project=project_for_user(request.user, data.get("project")),
            metadata=data.get("metadata"),
        )
        return Response(ConversationOut(conversation).data, status=status.HTTP_201_CREATED)


class ConversationDetailView(APIView):
    @extend_schema(
        operation_id="conversations_retrieve",
        summary="Get a conversation with its active branch's messages (newest page)",
        parameters=[
            OpenApiParameter("before", str, description="Message id from `older_before`."),
            OpenApiParameter("limit", int, description="1 to 100 messages, default 50."),
        ],
        responses={200: ConversationDetailOut, **error_responses(400, 404)},
        examples=[
            OpenApiExample(
                "Conversation with messages",
                value={
                    **CONVERSATION_EXAMPLE,
                    "messages": [USER_MESSAGE_EXAMPLE, REPLY_EXAMPLE],
                    "has_older": False,
                    "older_before": None,
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, public_id):
        conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
        query = parse(ThreadQuery, request.query_params.dict())
        before = None
        if query.get("before"):
            before = selectors.message_get_for_user(user=request.user, public_id=query["before"])
            if before.conversation_id != conversation.pk:
                raise Http404("No such message.")
        thread = selectors.message_thread(
            conversation=conversation, before=before, limit=query["limit"]
        )
        conversation.thread = thread.messages
        conversation.has_older = thread.has_older
        conversation.older_before = thread.oldest.public_id if thread.has_older else None
        return Response(ConversationDetailOut(conversation).data)

    @extend_schema(
        operation_id="conversations_update",
        summary="Change a conversation's title, project, pinned, archived or metadata",
        request=ConversationUpdateIn,
        responses={200: ConversationOut, **error_responses(400, 404, 413, 429)},
        examples=[
            OpenApiExample(
                "Rename and pin",
                value={"title": "Lisbon, 3 days", "pinned": True},
                request_only=True,
            ),
            CONVERSATION_RESPONSE_EXAMPLE,
        ],
    )
    def patch(self, request, public_id):
        conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
        data = parse(ConversationUpdateIn, request.data)
        with transaction.atomic():
            if "title" in data:
                services.conversation_rename(conversation=conversation, title=data["title"])
            if "project" in data:
                services.conversation_set_project(
                    conversation=conversation,
                    project=project_for_user(request.user, data["project"]),
                )
            if "pinned" in data:
                services.conversation_set_pinned(conversation=conversation, pinned=data["pinned"])
            if "archived" in data:
                services.conversation_set_archived(
                    conversation=conversation, archived=data["archived"]
                )
            if "metadata" in data:
                services.conversation_set_metadata(
                    conversation=conversation, metadata=data["metadata"]
                )
        return Response(ConversationOut(conversation).data)

    @extend_schema(
        operation_id="conversations_destroy",
        summary="Delete a conversation with its messages and share links",
        responses={204: None, **error_responses(404, 429)},
    )
    def delete(self, request, public_id):
        conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
        services.conversation_delete(conversation=conversation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConversationBulkDeleteView(APIView):
    @extend_schema(
        operation_id="conversations_bulk_delete",
        summary="Delete up to 100 conversations at once",
        description="Ids that are missing or not yours are reported in `failed_ids`.",
        request=BulkDeleteIn,
        responses={200: BulkDeleteOut, **error_responses(400, 413, 429)},
        examples=[
            OpenApiExample("Two ids", value={"ids": [CONV_ID, "conv_missing"]}, request_only=True),
            OpenApiExample(
                "One deleted, one failed",
                value={"deleted_count": 1, "failed_count": 1, "failed_ids": ["conv_missing"]},
                response_only=True,
            ),
        ],
    )
    def post(self, request):
        from conversations.bulk import conversations_bulk_delete

        ids = list(dict.fromkeys(parse(BulkDeleteIn, request.data)["ids"]))
        result = conversations_bulk_delete(user=request.user, public_ids=ids)
        return Response(
            BulkDeleteOut(
                {
                    "deleted_count": result.deleted_count,
                    "failed_count": len(result.failed_ids),
                    "failed_ids": result.failed_ids,
                }
            ).data
        )


class MessageSendView(APIView):
    throttle_classes = [WriteThrottle, GenerationThrottle]

    @extend_schema(
        operation_id="messages_send",
        summary="Send a message and start the reply",
        description=(
            "Answers 202 with the saved user message and the reply `in_progress`; follow the "
            "reply over `GET /api/messages/{id}/events/` (server-sent events) or poll "
            "`GET /api/messages/{id}/`. Repeating a send with the same `client_id` answers 200 "
            "with the first result."
        ),
        request=SendIn,
        responses={
            202: SendOut,
            200: SendOut,
            **error_responses(400, 403, 404, 409, 413, 429),
        },
        examples=[
            OpenApiExample(
                "Send",
                value={"content": "What should I see in Alfama?", "client_id": "c-123"},
                request_only=True,
            ),
            SEND_RESPONSE_EXAMPLE,
        ],
    )
    def post(self, request, public_id):
        conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
        data = parse(SendIn, request.data)
        return send_response(
            services.message_send(
                conversation=conversation,
                content=data["content"],
                client_id=data.get("client_id"),
                model=data.get("model"),
            )
        )


class ConversationStopView(APIView):
    @extend_schema(
        operation_id="conversations_stop",
        summary="Stop the reply being generated, keeping its partial text",
        request=None,
        responses={200: StopOut, **error_responses(404, 429)},
        examples=[
            OpenApiExample(
                "Stopped",
                value={"stopped": True, "message": {**REPLY_EXAMPLE, "content": "Alfama is"}},
                response_only=True,
            )
        ],
    )
    def post(self, request, public_id):
        conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
        running = (
            Message.objects.filter(conversation=conversation, status=Message.Status.IN_PROGRESS)
            .order_by()
            .first()
        )
        if running is None:
            return Response(StopOut({"stopped": False, "message": None}).data)
        message = services.message_stop(message=running) or running
        return Response(StopOut({"stopped": True, "message": message}).data)


MESSAGE_RESPONSE_EXAMPLE = OpenApiExample("Message", value=REPLY_EXAMPLE, response_only=True)


class MessageDetailView(APIView):
    @extend_schema(
        operation_id="messages_retrieve",
        summary="Get one message (poll a reply's status and text)",
        responses={200: MessageOut, **error_responses(404)},
        examples=[MESSAGE_RESPONSE_EXAMPLE],
    )
    def get(self, request, public_id):
        message = selectors.message_get_for_user(user=request.user, public_id=public_id)
        return Response(MessageOut(message).data)

    @extend_schema(
        operation_id="messages_destroy",
        summary="Delete a message and every reply below it",
        responses={204: None, **error_responses(404, 409, 429)},
    )
    def delete(self, request, public_id):
        message = selectors.message_get_for_user(user=request.user, public_id=public_id)
        services.message_delete(message=message)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessageEditView(APIView):
    throttle_classes = [WriteThrottle, GenerationThrottle]

    @extend_schema(
        operation_id="messages_edit",
        summary="Edit a user message: adds a sibling with the new text and starts a new reply",
        request=SendIn,
        responses={
            202: SendOut,
            200: SendOut,
            **error_responses(400, 403, 404, 409, 413, 429),
        },
        examples=[
            OpenApiExample(
                "Edit", value={"content": "What should I see in Belém?"}, request_only=True
            ),
            SEND_RESPONSE_EXAMPLE,
        ],
    )
    def post(self, request, public_id):
        message = selectors.message_get_for_user(user=request.user, public_id=public_id)
        data = parse(SendIn, request.data)
        return send_response(
            services.message_edit(
                message=message,
                content=data["content"],
                client_id=data.get("client_id"),
                model=data.get("model"),
            )
        )


class MessageRegenerateView(APIView):
    throttle_classes = [WriteThrottle, GenerationThrottle]

    @extend_schema(
        operation_id="messages_regenerate",
        summary="Generate another reply to the same user message (optionally another model)",
        request=RegenerateIn,
        responses={202: SendOut, **error_responses(400, 403, 404, 409, 429)},
        examples=[
            OpenApiExample("Regenerate", value={"model": "gpt-4o-mini"}, request_only=True),
            SEND_RESPONSE_EXAMPLE,
        ],
    )
    def post(self, request, public_id):
        message = selectors.message_get_for_user(user=request.user, public_id=public_id)
        data = parse(RegenerateIn, request.data)
        return send_response(services.message_regenerate(message=message, model=data.get("model")))


class MessageSiblingsView(APIView):
    @extend_schema(
        operation_id="messages_siblings",
        summary="List a message and its siblings (the other versions of that turn)",
        responses={200: SiblingsOut, **error_responses(404)},
        examples=[
            OpenApiExample(
                "Two versions",
                value={
                    "data": [USER_MESSAGE_EXAMPLE, {**USER_MESSAGE_EXAMPLE, "id": MSG_ID_2}],
                    "position": 1,
                },  # fmt: skip
                response_only=True,
            )
        ],
    )
    def get(self, request, public_id):
        message = selectors.message_get_for_user(user=request.user, public_id=public_id)
        siblings = list(services.message_siblings(message=message))
        position = next(i for i, m in enumerate(siblings, 1) if m.pk == message.pk)
        return Response(SiblingsOut({"data": siblings, "position": position}).data)


class ProjectConversationsView(APIView):
    @extend_schema(
        operation_id="projects_conversations",
        summary="List a project's conversations, most recent activity first",
        parameters=LIST_PARAMETERS,
        responses={200: ConversationPageOut, **error_responses(400, 404)},
        examples=[PAGE_EXAMPLE],
    )
    def get(self, request, public_id):
        from projects.selectors import project_get_for_user

        project = project_get_for_user(user=request.user, public_id=public_id)
        query = parse(ListQuery, request.query_params.dict())
        return conversation_page_response(
            conversation_page(user=request.user, query=query, project=project)
        )
