"""OpenAI Conversations API endpoints: thin views over the conversation selectors and services.

Bearer API keys only (no session, so no CSRF), throttled on writes like /api/, errors as
OpenAI's error body (core.errors.openai_exception_handler).
"""

from django.db import transaction
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiKeyAuthentication
from accounts.throttling import WriteThrottle
from conversations import selectors, services
from core.errors import openai_exception_handler
from core.limits import JsonTooDeep, json_loads
from v1 import errors
from v1 import selectors as v1_selectors
from v1 import serializers as s

NO_KEY_MESSAGE = "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'."


class JsonOnly(BaseContentNegotiation):
    """Answer JSON whatever the Accept header says: this is an API for programs."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class V1View(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [WriteThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = []
    content_negotiation_class = JsonOnly
    # OpenAI publishes this API's schema; /api/schema/ describes our own API only.
    schema = None

    def get_exception_handler(self):
        return openai_exception_handler

    # OpenAI's codes for refused credentials and rates, raised here so one mapping serves all.

    def perform_authentication(self, request):
        """Authenticate now, so a refused key is answered with OpenAI's code."""
        try:
            super().perform_authentication(request)
        except exceptions.AuthenticationFailed as exc:
            raise exceptions.AuthenticationFailed(str(exc.detail), code="invalid_api_key") from exc

    def permission_denied(self, request, message=None, code=None):
        """Refuse a request without a key in OpenAI's words."""
        if not request.successful_authenticator:
            raise exceptions.NotAuthenticated(NO_KEY_MESSAGE, code="invalid_api_key")
        super().permission_denied(request, message=message, code=code)

    def throttled(self, request, wait):
        """Refuse a request over the rate with OpenAI's code."""
        raise exceptions.Throttled(wait, code="rate_limit_exceeded")

    def body(self, allowed: set[str]) -> dict:
        """Return the JSON object body, refusing unknown parameters (413 past the size limit)."""
        raw = self.request._request.body  # raises RequestDataTooBig past the limit
        if not raw:
            body = {}
        else:
            try:
                body = json_loads(raw)
            except JsonTooDeep as exc:
                raise errors.invalid(str(exc), param=None, code="invalid_json") from None
            except (ValueError, UnicodeDecodeError):
                raise errors.invalid(
                    "We could not parse the JSON body of your request.",
                    param=None,
                    code="invalid_json",
                ) from None
        if not isinstance(body, dict):
            raise errors.invalid("The request body must be a JSON object.", param=None)
        s.check_fields(body, allowed)
        return body

    def conversation(self, conversation_id: str):
        """Return the key owner's conversation or raise 404 (missing and foreign alike)."""
        return selectors.conversation_get_for_user(
            user=self.request.user, public_id=conversation_id
        )

    def message(self, conversation_id: str, item_id: str):
        """Return the owner's message if it belongs to conversation_id, else raise 404."""
        return selectors.message_get_for_user(
            user=self.request.user, public_id=item_id, conversation_public_id=conversation_id
        )


def _append_items(conversation, items: list[s.NewItem]) -> list:
    return [
        services.message_append(conversation=conversation, role=item.role, content=item.content)
        for item in items
    ]


class ConversationsView(V1View):
    def get(self, request):
        """List the key owner's conversations (an extension: OpenAI has no such call)."""
        params = s.parse_list_params(request.query_params)
        page = v1_selectors.conversation_page(
            user=request.user, after=params.after, limit=params.limit, order=params.order
        )
        data = [s.conversation_object(c) for c in page.items]
        return Response(s.list_object(data, has_more=page.has_more))

    def post(self, request):
        """Create a conversation with metadata and up to 20 initial items, all or nothing."""
        body = self.body({"metadata", "items", "title"})
        metadata = s.parse_metadata(body.get("metadata"))
        title = s.parse_title(body.get("title"))
        items = s.parse_items(body.get("items"), required=False)
        with transaction.atomic():
            conversation = services.conversation_create(
                owner=request.user, title=title, metadata=metadata
            )
            _append_items(conversation, items)
        return Response(s.conversation_object(conversation))


class ConversationView(V1View):
    def get(self, request, conversation_id: str):
        return Response(s.conversation_object(self.conversation(conversation_id)))

    def post(self, request, conversation_id: str):
        """Replace the metadata (and, as an extension, rename with `title`)."""
        conversation = self.conversation(conversation_id)
        body = self.body({"metadata", "title"})
        if "metadata" not in body:
            raise errors.invalid(
                "Missing required parameter: 'metadata'.",
                param="metadata",
                code="missing_required_parameter",
            )
        metadata = s.parse_metadata(body["metadata"])
        title = s.parse_title(body.get("title"))
        with transaction.atomic():
            services.conversation_set_metadata(conversation=conversation, metadata=metadata)
            if title:
                services.conversation_rename(conversation=conversation, title=title)
        return Response(s.conversation_object(conversation))

    def delete(self, request, conversation_id: str):
        conversation = self.conversation(conversation_id)
        services.conversation_delete(conversation=conversation)
        return Response(s.deleted_object(conversation_id))


class ItemsView(V1View):
    def get(self, request, conversation_id: str):
        """List the items of the active branch, newest first unless order=asc."""
        params = s.parse_list_params(request.query_params)
        conversation = self.conversation(conversation_id)
        page = v1_selectors.item_page(
            conversation=conversation,
            after=params.after,
            limit=params.limit,
            order=params.order,
        )
        data = [s.item_object(m) for m in page.items]
        return Response(s.list_object(data, has_more=page.has_more))

    def post(self, request, conversation_id: str):
        """Append up to 20 finished messages to the active branch, all or nothing."""
        s.parse_include(request.query_params)
        conversation = self.conversation(conversation_id)
        items = s.parse_items(self.body({"items"}).get("items"), required=True)
        with transaction.atomic():
            messages = _append_items(conversation, items)
        data = [s.item_object(m) for m in messages]
        return Response(s.list_object(data, has_more=False))


class ItemView(V1View):
    def get(self, request, conversation_id: str, item_id: str):
        s.parse_include(request.query_params)
        return Response(s.item_object(self.message(conversation_id, item_id)))

    def delete(self, request, conversation_id: str, item_id: str):
        """Delete an item and the replies below it; answer the conversation."""
        message = self.message(conversation_id, item_id)
        conversation = message.conversation
        services.conversation_check_open(conversation)
        services.conversation_check_idle(conversation)
        services.message_delete(message=message)
        return Response(s.conversation_object(conversation))
