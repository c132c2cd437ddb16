"""A reply as server-sent events, for clients without websockets.

A plain async Django view: DRF views are sync, and a sync view would hold a worker thread for
the whole stream. Its errors still go through core.errors, in the /api body.
"""

import asyncio
import json

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, JsonResponse, StreamingHttpResponse
from rest_framework.exceptions import AuthenticationFailed, MethodNotAllowed, NotAuthenticated

from accounts.authentication import BEARER_CHALLENGE, ApiKeyAuthentication
from api.serializers import MessageOut
from conversations import selectors
from conversations.models import Message
from core import events
from core.errors import api_error_body, error_describe

SSE_HEARTBEAT_SECONDS = 15.0


def sse_frame(payload: dict) -> bytes:
    """Return one server-sent event carrying payload as JSON."""
    return f"data: {json.dumps(payload, cls=DjangoJSONEncoder)}\n\n".encode()


def _error_response(exc: Exception, headers: dict[str, str] | None = None) -> JsonResponse:
    """Answer exc with the error body and status the DRF views would give it."""
    error = error_describe(exc)
    return JsonResponse(
        api_error_body(error), status=error.status, headers=error.headers | (headers or {})
    )


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
                start, added = event["text_start"], event["text_delta"]
                if start > len(sent):
                    continue  # a missed frame: the final state below fills the gap
                text = sent[:start] + added  # a rewrite (start 0) is sent whole
                if text == sent or sent.startswith(text):
                    continue  # nothing new for this client
                yield _text_frame(message.public_id, sent, text)
                sent = text
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
        return _error_response(MethodNotAllowed(request.method), {"Allow": "GET"})
    try:
        user = await sync_to_async(_key_user)(request) or await request.auser()
    except AuthenticationFailed as exc:
        return _error_response(exc, {"WWW-Authenticate": BEARER_CHALLENGE})
    if not user.is_authenticated:
        return _error_response(NotAuthenticated(), {"WWW-Authenticate": BEARER_CHALLENGE})
    try:
        message = await sync_to_async(selectors.message_get_for_user)(
            user=user, public_id=public_id
        )
    except Http404 as exc:
        return _error_response(exc)
    response = StreamingHttpResponse(_reply_events(message), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass frames through unbuffered
    return response
