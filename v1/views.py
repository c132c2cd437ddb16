"""OpenAI Conversations API endpoints: thin views over the conversation selectors and services.

Bearer API keys only (no session, so no CSRF), throttled on writes like /api/, errors as
OpenAI's error body (core.errors.openai_exception_handler).
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiKeyAuthentication
from accounts.throttling import WriteThrottle
from conversations import selectors, services
from conversations.models import Message
from core.errors import openai_exception_handler
from core.limits import JsonTooDeep, json_loads
from organise.bulk import MAX_BULK, conversations_bulk_delete
from projects import selectors as project_selectors
from projects import services as project_services
from sharing import selectors as sharing_selectors
from sharing import services as sharing_services
from v1 import errors, generate
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
    # The bodies are parsed by hand, so there is nothing to introspect: v1/schema.py
    # describes every /v1 operation in /api/schema/ instead.
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

    def project(self, project_id, *, param: str = "project_id"):
        """Return the owner's project named by project_id (None for null), else 404."""
        if project_id is None:
            return None
        if not isinstance(project_id, str) or not project_id:
            raise errors.invalid(f"'{param}' must be a project id.", param=param)
        return project_selectors.project_get_for_user(user=self.request.user, public_id=project_id)

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
        return conversation_list(self, request)

    def post(self, request):
        """Create a conversation with metadata and up to 20 initial items, all or nothing."""
        body = self.body({"metadata", "items", "title", "project_id"})
        metadata = s.parse_metadata(body.get("metadata"))
        title = s.parse_title(body.get("title"))
        items = s.parse_items(body.get("items"), required=False)
        project = self.project(body.get("project_id"))
        with transaction.atomic():
            conversation = services.conversation_create(
                owner=request.user, title=title, metadata=metadata, project=project
            )
            _append_items(conversation, items)
        return Response(s.jan_conversation_object(conversation))


def conversation_list(view: "V1View", request, project=None) -> Response:
    """Answer one page of the owner's conversations, optionally of one project."""
    params = s.parse_list_params(request.query_params)
    if project is None and request.query_params.get("project_id"):
        project = view.project(request.query_params["project_id"])
    page = v1_selectors.conversation_page(
        user=request.user,
        after=params.after,
        limit=params.limit,
        order=params.order,
        project=project,
    )
    data = [s.jan_conversation_object(c) for c in page.items]
    return Response(s.jan_list_object(data, has_more=page.has_more))


class ConversationView(V1View):
    def get(self, request, conversation_id: str):
        """Answer the conversation with its newest items (the guide's `items`), one page.

        At most `items_limit` (default 100) items of the active branch, oldest first; older
        ones through GET .../items?after=<first item id> (`items_has_more` says so).
        """
        conversation = self.conversation(conversation_id)
        raw = request.query_params.get("items_limit") or str(s.MAX_LIMIT)
        if not raw.isdigit() or not 0 <= int(raw) <= s.MAX_LIMIT:
            raise errors.invalid(
                f"'items_limit' must be an integer from 0 to {s.MAX_LIMIT}.", param="items_limit"
            )
        page = v1_selectors.item_page(
            conversation=conversation, after=None, limit=int(raw), order="desc"
        )
        items = [s.jan_item_object(m) for m in reversed(page.items)]
        return Response(
            {
                **s.jan_conversation_object(conversation),
                "items": items,
                "items_has_more": page.has_more,
            }
        )

    def patch(self, request, conversation_id: str):
        """Rename and/or move to a project (`project_id`: null takes it out), the guide's way."""
        conversation = self.conversation(conversation_id)
        body = self.body({"title", "project_id", "metadata"})
        if not body:
            raise errors.invalid(
                "Send 'title', 'project_id' or 'metadata'.",
                param=None,
                code="missing_required_parameter",
            )
        title = s.parse_string(body["title"], param="title") if "title" in body else None
        project = self.project(body.get("project_id"))
        metadata = s.parse_metadata(body["metadata"]) if "metadata" in body else None
        with transaction.atomic():
            if title is not None:
                services.conversation_rename(conversation=conversation, title=title)
            if "project_id" in body:
                services.conversation_set_project(conversation=conversation, project=project)
            if metadata is not None:
                services.conversation_set_metadata(conversation=conversation, metadata=metadata)
        return Response(s.jan_conversation_object(conversation))

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
        """Append up to 20 finished messages to the active branch, all or nothing.

        The Jan guide's form, one `{"role", "content", "call_id"}`, answers that one item;
        `call_id` is echoed back, not stored.
        """
        s.parse_include(request.query_params)
        conversation = self.conversation(conversation_id)
        body = self.body({"items", "role", "content", "call_id", "type"})
        if "items" not in body and "role" in body:
            call_id = body.pop("call_id", None)
            if call_id is not None and not isinstance(call_id, str):
                raise errors.invalid("'call_id' must be a string.", param="call_id")
            (item,) = s.parse_items([body], required=True)
            message = services.message_append(
                conversation=conversation, role=item.role, content=item.content
            )
            return Response(s.jan_item_object(message, call_id=call_id))
        items = s.parse_items(body.get("items"), required=True)
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


def _turn_object(result) -> dict:
    """Answer a started turn: the user message and the reply being generated."""
    return {
        **s.jan_item_object(result.user_message),
        "reply": s.jan_item_object(result.assistant_message),
    }


class ItemEditView(V1View):
    def put(self, request, conversation_id: str, item_id: str):
        """Add an edited copy of a user message beside it and generate a new reply."""
        message = self.message(conversation_id, item_id)
        body = self.body({"content", "model"})
        content = s.parse_text(body.get("content"), param="content")
        model = body.get("model")
        if model is not None and not isinstance(model, str):
            raise errors.invalid("'model' must be a string.", param="model")
        services.conversation_check_open(message.conversation)
        if message.role != Message.Role.USER:
            raise errors.invalid("Only user messages can be edited.", param="item_id")
        result = services.message_edit(message=message, content=content, model=model)
        return Response(_turn_object(result))


class ItemRegenerateView(V1View):
    def post(self, request, conversation_id: str, item_id: str):
        """Generate a new reply beside this reply (or under this user message)."""
        message = self.message(conversation_id, item_id)
        body = self.body({"model"})
        model = body.get("model")
        if model is not None and not isinstance(model, str):
            raise errors.invalid("'model' must be a string.", param="model")
        services.conversation_check_open(message.conversation)
        result = services.message_regenerate(message=message, model=model)
        return Response(_turn_object(result))


class BulkDeleteView(V1View):
    def post(self, request):
        """Delete up to 100 of the owner's conversations; report the ids that are not theirs."""
        body = self.body({"conversation_ids"})
        ids = s.parse_id_list(
            body.get("conversation_ids"), param="conversation_ids", max_length=MAX_BULK
        )
        result = conversations_bulk_delete(user=request.user, public_ids=ids)
        return Response(
            {
                "object": "conversation.bulk_deleted",
                "deleted_count": result.count,
                "failed_count": len(result.failed),
                "failed_ids": result.failed,
            }
        )


def _share_url(request, share) -> str:
    return request.build_absolute_uri(reverse("share-view", args=[share.token]))


class ShareView(V1View):
    def post(self, request, conversation_id: str):
        """Create a read-only link to the conversation as it is now (links are always read-only)."""
        conversation = self.conversation(conversation_id)
        body = self.body({"expires_in", "read_only"})
        expires_in = s.parse_expires_in(body.get("expires_in"))
        if not s.parse_bool(body.get("read_only"), param="read_only", default=True):
            raise errors.invalid("Share links are read-only.", param="read_only")
        share = sharing_services.share_create(
            user=request.user,
            conversation=conversation,
            expires_in=timedelta(seconds=expires_in) if expires_in else None,
        )
        return Response(s.share_object(share, _share_url(request, share), read_only=True))


class ItemShareView(V1View):
    def post(self, request, conversation_id: str, item_id: str):
        """Create a read-only link to one message, with or without what led to it."""
        message = self.message(conversation_id, item_id)
        body = self.body({"expires_in", "include_context"})
        expires_in = s.parse_expires_in(body.get("expires_in"))
        include_context = s.parse_bool(
            body.get("include_context"), param="include_context", default=True
        )
        share = sharing_services.share_create(
            user=request.user,
            conversation=message.conversation,
            message=message,
            include_context=include_context,
            expires_in=timedelta(seconds=expires_in) if expires_in else None,
        )
        return Response(
            s.share_object(
                share, _share_url(request, share), read_only=True, include_context=include_context
            )
        )


class ShareRevokeView(V1View):
    def delete(self, request, conversation_id: str, share_id: str):
        """Revoke a link of this conversation; it answers 404 from now on."""
        conversation = self.conversation(conversation_id)
        # The one ownership selector (it also refuses a token that cannot exist, query-free).
        share = sharing_selectors.share_get_for_user(user=request.user, token=share_id)
        if share.conversation_id != conversation.pk:
            raise errors.not_found("No such share link.")
        sharing_services.share_revoke(share=share)
        return Response({"share_id": share.token, "object": "share.deleted", "deleted": True})


class ProjectsView(V1View):
    def get(self, request):
        """List the owner's projects, newest activity first (at most 100)."""
        projects = project_selectors.project_list_for_user(user=request.user)[: s.MAX_LIMIT]
        data = [s.project_object(p) for p in projects]
        return Response(s.list_object(data, has_more=False))

    def post(self, request):
        body = self.body({"title", "description", "instructions"})
        title = s.parse_string(body.get("title"), param="title")
        description = body.get("description") or ""
        instructions = body.get("instructions") or ""
        for name, value in (("description", description), ("instructions", instructions)):
            if not isinstance(value, str):
                raise errors.invalid(f"'{name}' must be a string.", param=name)
        project = project_services.project_create(
            owner=request.user, title=title, description=description, instructions=instructions
        )
        return Response(s.project_object(project))


class ProjectConversationsView(V1View):
    def get(self, request, project_id: str):
        return conversation_list(self, request, project=self.project(project_id))


IGNORED_GENERATION_FIELDS = {"store", "metadata", "temperature", "top_p", "user", "stream_options"}


def _parse_conversation_ref(value) -> str | None:
    """Return the conversation id of `conversation` (a string or {"id": ...})."""
    if value is None:
        return None
    if isinstance(value, dict) and set(value) == {"id"}:
        value = value["id"]
    if not isinstance(value, str) or not value:
        raise errors.invalid("'conversation' must be a conversation id.", param="conversation")
    return value


class ResponsesView(V1View):
    def post(self, request):
        """Send the input into a conversation (a new one without `conversation`) and reply."""
        body = self.body(
            {"model", "input", "instructions", "conversation", "stream", "max_output_tokens"}
            | IGNORED_GENERATION_FIELDS
        )
        model = generate.parse_model(body.get("model"))
        raw_input = body.get("input")
        if isinstance(raw_input, str):
            items = [
                s.NewItem(role=Message.Role.USER, content=s.parse_text(raw_input, param="input"))
            ]
        else:
            items = s.parse_items(raw_input, param="input", required=True)
        history, prompt = generate.parse_turn(items, param="input")
        instructions = body.get("instructions")
        if instructions is not None:
            instructions = s.parse_text(instructions, param="instructions")
        stream = s.parse_bool(body.get("stream"), param="stream", default=False)
        conversation, reply = generate.start_turn(
            view=self,
            conversation_id=_parse_conversation_ref(body.get("conversation")),
            model=model,
            history=history,
            prompt=prompt,
            instructions=instructions or "",
        )
        shape = {"conversation_id": conversation.public_id, "instructions": instructions}
        if stream:
            return generate.stream_response(
                request._request, generate.response_events(reply, **shape)
            )
        return Response(generate.response_object(generate.wait(reply), **shape))


class ResponseBase(V1View):
    def reply(self, response_id: str) -> Message:
        public_id = generate.reply_public_id(response_id)
        message = selectors.message_get_for_user(user=self.request.user, public_id=public_id)
        if message.role != Message.Role.ASSISTANT:
            raise errors.not_found(f"No response '{response_id}'.")
        return message


class ResponseView(ResponseBase):
    def get(self, request, response_id: str):
        reply = self.reply(response_id)
        return Response(
            generate.response_object(reply, conversation_id=reply.conversation.public_id)
        )


class ResponseCancelView(ResponseBase):
    def post(self, request, response_id: str):
        """Stop the reply (Stop in the browser); the text so far is kept."""
        reply = self.reply(response_id)
        services.message_stop(message=reply)
        reply = generate.wait(reply)
        return Response(
            generate.response_object(reply, conversation_id=reply.conversation.public_id)
        )


class ChatCompletionsView(V1View):
    def post(self, request):
        """Answer the messages; with `conversation` only the last user message is stored there.

        Without it the messages are stored in a new conversation (its id is in the answer).
        """
        body = self.body(
            {
                "model",
                "messages",
                "conversation",
                "stream",
                "max_tokens",
                "max_completion_tokens",
                "n",
            }
            | IGNORED_GENERATION_FIELDS
        )
        model = generate.parse_model(body.get("model"))
        if body.get("n") not in (None, 1):
            raise errors.invalid("Only n=1 is supported.", param="n")
        items = s.parse_items(body.get("messages"), param="messages", required=True)
        history, prompt = generate.parse_turn(items, param="messages")
        conversation_id = _parse_conversation_ref(body.get("conversation"))
        stream = s.parse_bool(body.get("stream"), param="stream", default=False)
        conversation, reply = generate.start_turn(
            view=self,
            conversation_id=conversation_id,
            model=model,
            history=[] if conversation_id else history,
            prompt=prompt,
        )
        if stream:
            return generate.stream_response(
                request._request,
                generate.completion_events(reply, conversation_id=conversation.public_id),
            )
        reply = generate.wait(reply)
        return Response(generate.completion_object(reply, conversation_id=conversation.public_id))


class ModelsView(V1View):
    def get(self, request):
        """List the configured chat models; the first is the default."""
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "chatbot"}
            for name in settings.CHAT_MODELS
        ]
        return Response({"object": "list", "data": data})
