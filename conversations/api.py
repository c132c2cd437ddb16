"""DRF endpoints for conversations and messages: thin over the selectors and services."""

import asyncio
import json

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import Http404, JsonResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import BEARER_CHALLENGE, ApiKeyAuthentication
from accounts.throttling import GenerationThrottle, WriteThrottle
from chatbot.api_errors import ERROR_EXAMPLES, error_body, error_responses
from conversations import selectors, services
from conversations.bulk import conversations_bulk_delete
from conversations.models import (
    METADATA_MAX_KEY_CHARS,
    METADATA_MAX_KEYS,
    METADATA_MAX_VALUE_CHARS,
    TITLE_MAX_CHARS,
    Conversation,
    Message,
)
from conversations.search import conversation_search
from core import events
from projects.api import PROJ_ID
from projects.selectors import project_get_for_user

BULK_MAX_IDS = 100
LIST_DEFAULT_LIMIT = 20
LIST_MAX_LIMIT = 100
THREAD_DEFAULT_LIMIT = 50

CONV_ID = "conv_3f2a9c0d4e5b6a7980f1e2d3c4b5a69788796a5b4c3d2e1f"
MSG_ID = "msg_8e7d6c5b4a392817f6e5d4c3b2a19087a6b5c4d3e2f1a0b9"
MSG_ID_2 = "msg_1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081"
SHARE_TOKEN = "q8Zk3v1m0xY2nT6pR4sW9aB7cD5eF3gH1jK0lM2nP4"
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


SUMMARY_EXAMPLE = {
    k: v for k, v in CONVERSATION_EXAMPLE.items() if k not in ("metadata", "status_reason")
}
PAGE_EXAMPLE = OpenApiExample(
    "A page",
    value={"data": [SUMMARY_EXAMPLE], "has_more": True, "next_after": "MjAyNi0xMS0yMVQ"},
    response_only=True,
)
CONVERSATION_RESPONSE_EXAMPLE = OpenApiExample(
    "Conversation", value=CONVERSATION_EXAMPLE, response_only=True
)
SEND_RESPONSE_EXAMPLE = OpenApiExample(
    "Generation started",
    value={"user_message": USER_MESSAGE_EXAMPLE, "assistant_message": REPLY_EXAMPLE},
    response_only=True,
    status_codes=[202, 200],
)


class ConversationListView(APIView):
    @extend_schema(
        operation_id="conversations_list",
        summary="List your conversations, most recent activity first",
        parameters=[ListQuery],
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
        parameters=[ThreadQuery],
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
            before = selectors.message_get_for_user(
                user=request.user, public_id=query["before"], conversation=conversation
            )
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
        ids = list(dict.fromkeys(parse(BulkDeleteIn, request.data)["ids"]))
        result = conversations_bulk_delete(user=request.user, public_ids=ids)
        return Response(
            BulkDeleteOut(
                {
                    "deleted_count": result.count,
                    "failed_count": len(result.failed),
                    "failed_ids": result.failed,
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
        running = selectors.message_generating(conversation=conversation)
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
        siblings = selectors.message_siblings(message=message)
        position = next(i for i, m in enumerate(siblings, 1) if m.pk == message.pk)
        return Response(SiblingsOut({"data": siblings, "position": position}).data)


class ProjectConversationsView(APIView):
    @extend_schema(
        operation_id="projects_conversations",
        summary="List a project's conversations, most recent activity first",
        parameters=[ProjectConversationsQuery],
        responses={200: ConversationPageOut, **error_responses(400, 404)},
        examples=[PAGE_EXAMPLE],
    )
    def get(self, request, public_id):
        project = project_get_for_user(user=request.user, public_id=public_id)
        query = parse(ProjectConversationsQuery, request.query_params.dict())
        return conversation_page_response(
            conversation_page(user=request.user, query=query, project=project)
        )


# A reply as server-sent events, for clients without websockets. A plain async Django view:
# DRF views are sync, and a sync view would hold a worker thread for the whole stream.

SSE_HEARTBEAT_SECONDS = 15.0


def sse_frame(payload: dict) -> bytes:
    """Return one server-sent event carrying payload as JSON."""
    return f"data: {json.dumps(payload, cls=DjangoJSONEncoder)}\n\n".encode()


def _error_response(status_code: int, code: str, message: str, headers=None) -> JsonResponse:
    response = JsonResponse(error_body(code, message), status=status_code)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _key_user(request):
    """Return the user of a Bearer key, or None without one; a bad key raises."""
    authenticated = ApiKeyAuthentication().authenticate(request)
    return authenticated[0] if authenticated else None


def _text_frame(message_id: str, sent: str, text: str) -> bytes:
    """Return the frame taking a client from `sent` to `text`: a delta, or the whole text."""
    if text.startswith(sent):
        return sse_frame({"type": "delta", "message_id": message_id, "delta": text[len(sent) :]})
    return sse_frame({"type": "text", "message_id": message_id, "text": text})


async def _reply_events(message: Message):
    """Yield the stored reply, then its live text, until it reaches a final status."""
    channel_layer = get_channel_layer()
    channel = await channel_layer.new_channel()
    group = events.conversation_group(message.conversation.public_id)
    # Subscribed before reading, so nothing published after the read is missed.
    await channel_layer.group_add(group, channel)
    try:
        current = await sync_to_async(Message.objects.get)(pk=message.pk)
        yield sse_frame({"type": "message", "message": MessageOut(current).data})
        sent = current.content
        while current.status == Message.Status.IN_PROGRESS:
            try:
                event = await asyncio.wait_for(
                    channel_layer.receive(channel), timeout=SSE_HEARTBEAT_SECONDS
                )
            except TimeoutError:
                # No word from the engine: it may have died (the sweeper ends such rows).
                current = await sync_to_async(Message.objects.get)(pk=message.pk)
                if current.status == Message.Status.IN_PROGRESS:
                    yield b": keep-alive\n\n"
                continue
            if event.get("message_id") != message.public_id:
                continue
            if event["type"] == "generation.delta":
                yield _text_frame(message.public_id, sent, event["text"])
                sent = event["text"]
            elif event["type"] == "generation.done":
                current = await sync_to_async(Message.objects.get)(pk=message.pk)
        if current.content != sent:
            # The last words may arrive only with the final save: the frames add up to it.
            yield _text_frame(message.public_id, sent, current.content)
        yield sse_frame({"type": "done", "message": MessageOut(current).data})
    finally:
        await channel_layer.group_discard(group, channel)


async def message_events(request, public_id):
    """Stream a reply: its stored text first, then deltas, then its final state."""
    if request.method != "GET":
        return _error_response(
            405,
            "method_not_allowed",
            f'Method "{request.method}" not allowed.',
            {"Allow": "GET"},
        )
    try:
        user = await sync_to_async(_key_user)(request) or await request.auser()
    except AuthenticationFailed as exc:
        return _error_response(
            401, "authentication_failed", str(exc.detail), {"WWW-Authenticate": BEARER_CHALLENGE}
        )
    if not user.is_authenticated:
        return _error_response(
            401,
            "not_authenticated",
            "Authentication credentials were not provided.",
            {"WWW-Authenticate": BEARER_CHALLENGE},
        )
    try:
        message = await sync_to_async(selectors.message_get_for_user)(
            user=user, public_id=public_id
        )
    except Http404:
        return _error_response(404, "not_found", "Not found.")
    response = StreamingHttpResponse(_reply_events(message), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass frames through unbuffered
    return response


SSE_EXAMPLE = (
    f'data: {{"type": "message", "message": {{"id": "{MSG_ID_2}", "status": "in_progress", '
    '"content": "Alfama is", ...}}\n\n'
    f'data: {{"type": "delta", "message_id": "{MSG_ID_2}", "delta": " the old town"}}\n\n'
    f'data: {{"type": "done", "message": {{"id": "{MSG_ID_2}", "status": "completed", '
    '"content": "Alfama is the old town…", ...}}\n\n'
)


def _frame(kind: str, **fields) -> dict:
    return {
        "type": "object",
        "required": ["type", *fields],
        "properties": {"type": {"type": "string", "enum": [kind]}, **fields},
    }


_message_ref = {"$ref": "#/components/schemas/MessageOut"}
_string = {"type": "string"}
# One event of the stream: its `data` is JSON, one of the frames below.
SSE_EVENT_SCHEMA = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {
                "oneOf": [
                    _frame("message", message=_message_ref),
                    _frame("delta", message_id=_string, delta=_string),
                    _frame("text", message_id=_string, text=_string),
                    _frame("done", message=_message_ref),
                ]
            },
        }
    },
}


def add_events_path(result, generator, request, public):
    """Describe the server-sent events endpoint (a plain async view) in the schema."""
    error = {"$ref": "#/components/schemas/Error"}
    result["paths"]["/api/messages/{public_id}/events/"] = {
        "get": {
            "operationId": "messages_events",
            "summary": "Follow a reply as server-sent events",
            "description": (
                "A `text/event-stream` of `data:` frames holding JSON: first "
                '`{"type": "message", "message": <Message>}` with the stored text, then '
                '`{"type": "delta", "message_id", "delta"}` for each piece of new text (or '
                '`{"type": "text", "message_id", "text"}` when the text was rewritten), and '
                'last `{"type": "done", "message": <Message>}` with the final status, after '
                "which the stream ends. Comment lines (`: keep-alive`) keep idle connections open."
            ),
            "tags": ["messages"],
            "parameters": [
                {"in": "path", "name": "public_id", "required": True, "schema": {"type": "string"}}
            ],
            "security": [{"ApiKeyAuth": []}, {"cookieAuth": []}],
            "responses": {
                "200": {
                    "description": "The reply's events until its final status.",
                    "content": {
                        "text/event-stream": {
                            "schema": SSE_EVENT_SCHEMA,
                            "examples": {"Stream": {"value": SSE_EXAMPLE}},
                        }
                    },
                },
                "401": {
                    "description": "Missing or invalid credentials.",
                    "content": {
                        "application/json": {
                            "schema": error,
                            "examples": {"Error 401": {"value": ERROR_EXAMPLES[401]}},
                        }
                    },
                },
                "404": {
                    "description": "Not found, or not yours (the same answer either way).",
                    "content": {
                        "application/json": {
                            "schema": error,
                            "examples": {"Error 404": {"value": ERROR_EXAMPLES[404]}},
                        }
                    },
                },
            },
        }
    }
    # Give every id in a path an example, so docs and generated clients show real-looking ids.
    examples = {
        "conversations": CONV_ID,
        "messages": MSG_ID_2,
        "projects": PROJ_ID,
        "shares": SHARE_TOKEN,
    }
    for path, item in result["paths"].items():
        segment = path.split("/")[2]
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and segment in examples:
                    parameter["example"] = examples[segment]
    return result
