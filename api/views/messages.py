"""/api messages: send, stop, get, delete, edit, regenerate, continue, siblings, branch,
feedback."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.throttling import GenerationThrottle, WriteThrottle
from api.schema import (
    CONVERSATION_RESPONSE_EXAMPLE,
    MESSAGE_RESPONSE_EXAMPLE,
    MSG_ID_2,
    RATED_REPLY_EXAMPLE,
    REPLY_EXAMPLE,
    SEND_RESPONSE_EXAMPLE,
    USER_MESSAGE_EXAMPLE,
    error_responses,
)
from api.serializers import (
    ConversationOut,
    FeedbackIn,
    MessageOut,
    RegenerateIn,
    SendIn,
    SendOut,
    SiblingsOut,
    StopOut,
    parse,
)
from conversations import selectors, services


def send_response(result: services.SendResult) -> Response:
    """Answer a generation start: 202 when new, 200 when an idempotent repeat."""
    body = SendOut(
        {"user_message": result.user_message, "assistant_message": result.assistant_message}
    ).data
    return Response(body, status=status.HTTP_202_ACCEPTED if result.created else status.HTTP_200_OK)


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


class MessageContinueView(APIView):
    throttle_classes = [WriteThrottle, GenerationThrottle]

    @extend_schema(
        operation_id="messages_continue",
        summary="Continue a reply that stopped or was cut off: the same message grows",
        description=(
            "Only the conversation's last reply, `stopped`, `incomplete` or `failed` with some "
            "text, can go on (else 409 `message_not_continuable`). Answers 202 with the reply "
            "back `in_progress`, its text so far kept; follow it as a new reply."
        ),
        request=None,
        responses={202: MessageOut, **error_responses(400, 403, 404, 409, 429)},
        examples=[
            OpenApiExample(
                "Continued",
                value={**REPLY_EXAMPLE, "content": "Alfama is the oldest"},
                response_only=True,
                status_codes=[202],
            )
        ],
    )
    def post(self, request, public_id):
        message = selectors.message_get_for_user(user=request.user, public_id=public_id)
        reply = services.message_continue(user=request.user, message=message)
        return Response(MessageOut(reply).data, status=status.HTTP_202_ACCEPTED)


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


class MessageBranchView(APIView):
    throttle_classes = [WriteThrottle]

    @extend_schema(
        operation_id="messages_branch",
        summary="Copy the thread up to this message into a new conversation (same project)",
        request=None,
        responses={201: ConversationOut, **error_responses(403, 404, 429)},
        examples=[CONVERSATION_RESPONSE_EXAMPLE],
    )
    def post(self, request, public_id):
        message = selectors.message_get_for_user(user=request.user, public_id=public_id)
        conversation = services.conversation_branch(message=message, user=request.user)
        return Response(ConversationOut(conversation).data, status=status.HTTP_201_CREATED)


class MessageFeedbackView(APIView):
    @extend_schema(
        operation_id="messages_feedback_set",
        summary="Rate a finished reply up or down, with an optional comment",
        description="Replaces the reply's rating and comment (an omitted comment is empty).",
        request=FeedbackIn,
        responses={200: MessageOut, **error_responses(400, 404, 429)},
        examples=[
            OpenApiExample(
                "Rate down",
                value={"rating": "down", "comment": "The tram line is wrong."},
                request_only=True,
            ),
            OpenApiExample("Rated", value=RATED_REPLY_EXAMPLE, response_only=True),
        ],
    )
    def put(self, request, public_id):
        message = selectors.message_get_for_user(user=request.user, public_id=public_id)
        data = parse(FeedbackIn, request.data)
        services.message_feedback_set(
            user=request.user,
            message=message,
            rating=data["rating"],
            comment=data.get("comment", ""),
        )
        return Response(MessageOut(message).data)

    @extend_schema(
        operation_id="messages_feedback_clear",
        summary="Clear the rating and comment of a reply",
        responses={204: None, **error_responses(400, 404, 429)},
    )
    def delete(self, request, public_id):
        message = selectors.message_get_for_user(user=request.user, public_id=public_id)
        services.message_feedback_set(user=request.user, message=message, rating=None)
        return Response(status=status.HTTP_204_NO_CONTENT)
