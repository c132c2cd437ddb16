"""/v1/responses and /v1/chat/completions: a turn sent through the browser's engine.

The view saves the prompt and starts the reply with conversations.services.message_send (the
engine runs detached, so a client that goes away does not stop it), then either waits for
the reply or follows it, reading the row the engine flushes every GENERATION_FLUSH_INTERVAL.
"""

import json
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.handlers.asgi import ASGIRequest
from django.db import transaction
from django.http import StreamingHttpResponse

from accounts.throttling import GenerationThrottle
from conversations import services
from conversations.models import Message
from v1 import errors
from v1 import serializers as s

POLL_SECONDS = 0.05
RESPONSE_PREFIX = "resp_"
RESPONSE_STATUS = {
    Message.Status.IN_PROGRESS: "in_progress",
    Message.Status.COMPLETED: "completed",
    Message.Status.STOPPED: "cancelled",
    Message.Status.INCOMPLETE: "incomplete",
    Message.Status.FAILED: "failed",
}
FINISH_REASON = {Message.Status.COMPLETED: "stop", Message.Status.INCOMPLETE: "length"}


def response_id(message: Message) -> str:
    return f"{RESPONSE_PREFIX}{message.public_id}"


def reply_public_id(response_id_: str) -> str:
    if not response_id_.startswith(RESPONSE_PREFIX):
        raise errors.not_found(f"No response '{response_id_}'.")
    return response_id_[len(RESPONSE_PREFIX) :]


def follow(reply: Message):
    """Yield the reply's text as it grows, then the finished row (None marks each poll)."""
    deadline = time.monotonic() + settings.GENERATION_TIMEOUT * 2 + 30
    while True:
        current = Message.objects.get(pk=reply.pk)
        yield current
        if current.status != Message.Status.IN_PROGRESS or time.monotonic() > deadline:
            return
        time.sleep(POLL_SECONDS)


def wait(reply: Message) -> Message:
    """Return the reply once it has reached a final status."""
    *_, current = follow(reply)
    return current


def parse_model(value) -> str:
    if not isinstance(value, str) or not value:
        raise errors.invalid("'model' must be a model id (GET /v1/models).", param="model")
    try:
        return services.validate_model(value)
    except ValidationError:
        raise errors.ApiError(
            f"The model '{value}' does not exist. "
            f"Choose one of: {', '.join(settings.CHAT_MODELS)}.",
            param="model",
            code="model_not_found",
        ) from None


def parse_turn(items: list[s.NewItem], *, param: str) -> tuple[list[s.NewItem], str]:
    """Split the input into the history to store and the last user message to send."""
    if not items or items[-1].role != Message.Role.USER:
        raise errors.invalid("The last input message must have role 'user'.", param=param)
    return items[:-1], items[-1].content


def start_turn(*, view, conversation_id, model, history, prompt, instructions=""):
    """Store the history (and instructions as a system message), send the prompt, all or nothing."""
    user = view.request.user
    conversation = view.conversation(conversation_id) if conversation_id else None
    if conversation is not None:
        services.conversation_check_open(conversation)
        services.conversation_check_idle(conversation)
    for throttle in (GenerationThrottle(),):
        if not throttle.allow_request(view.request, view):
            view.throttled(view.request, throttle.wait())
    with transaction.atomic():
        if conversation is None:
            conversation = services.conversation_create(owner=user)
        if instructions:
            services.message_append(
                conversation=conversation, role=Message.Role.SYSTEM, content=instructions
            )
        for item in history:
            services.message_append(conversation=conversation, role=item.role, content=item.content)
        result = services.message_send(conversation=conversation, content=prompt, model=model)
    return conversation, result.assistant_message


# Responses API shapes


def output_item(reply: Message, text: str | None = None, status: str | None = None) -> dict:
    text = reply.content if text is None else text
    return {
        "id": reply.public_id,
        "type": "message",
        "role": "assistant",
        "status": status or s.ITEM_STATUS.get(reply.status, "completed"),
        "content": [] if text is None else [output_part(text)],
    }


def output_part(text: str) -> dict:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def response_object(reply: Message, *, conversation_id: str, instructions=None, text=None) -> dict:
    status = RESPONSE_STATUS.get(reply.status, "completed")
    return {
        "id": response_id(reply),
        "object": "response",
        "created_at": s.unix(reply.created_at),
        "status": status,
        "model": reply.model,
        "instructions": instructions,
        "output": [] if status == "in_progress" and not reply.content else [output_item(reply)],
        "conversation": {"id": conversation_id},
        "error": (
            {"code": "server_error", "message": reply.status_reason or "The reply failed."}
            if reply.status == Message.Status.FAILED
            else None
        ),
        "incomplete_details": (
            {"reason": "max_output_tokens"} if reply.status == Message.Status.INCOMPLETE else None
        ),
        "metadata": {},
        "parallel_tool_calls": False,
        "tool_choice": "auto",
        "tools": [],
        "temperature": None,
        "top_p": None,
        "usage": {
            "input_tokens": reply.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": reply.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": reply.input_tokens + reply.output_tokens,
        },
    }


def sse(event_type: str, payload: dict, sequence: list[int]) -> bytes:
    sequence[0] += 1
    body = {"type": event_type, "sequence_number": sequence[0], **payload}
    return f"event: {event_type}\ndata: {json.dumps(body)}\n\n".encode()


def response_events(reply: Message, *, conversation_id: str, instructions=None):
    """Yield the Responses API's stream: created, in_progress, item/part added, deltas, done."""
    seq = [-1]
    shape = {"conversation_id": conversation_id, "instructions": instructions}
    first = response_object(reply, **shape)
    first["status"], first["output"] = "in_progress", []
    yield sse("response.created", {"response": first}, seq)
    yield sse("response.in_progress", {"response": first}, seq)
    item = output_item(reply, status="in_progress")
    item["content"] = []
    yield sse("response.output_item.added", {"output_index": 0, "item": item}, seq)
    where = {"item_id": reply.public_id, "output_index": 0, "content_index": 0}
    yield sse("response.content_part.added", {**where, "part": output_part("")}, seq)
    sent = ""
    current = reply
    for current in follow(reply):
        text = current.content
        if text.startswith(sent) and len(text) > len(sent):
            yield sse(
                "response.output_text.delta",
                {**where, "delta": text[len(sent) :], "logprobs": []},
                seq,
            )
            sent = text
    yield sse("response.output_text.done", {**where, "text": sent, "logprobs": []}, seq)
    yield sse("response.content_part.done", {**where, "part": output_part(sent)}, seq)
    done_item = output_item(current)
    done_item["content"] = [output_part(sent)]
    yield sse("response.output_item.done", {"output_index": 0, "item": done_item}, seq)
    final = response_object(current, **shape)
    final["output"] = [done_item]
    kind = {
        "completed": "response.completed",
        "failed": "response.failed",
        "incomplete": "response.incomplete",
    }.get(final["status"], "response.completed")
    yield sse(kind, {"response": final}, seq)


_END = object()


async def _async_events(events):
    # Django buffers a sync iterator whole under ASGI; pull it a frame at a time instead.
    while (chunk := await sync_to_async(next, thread_sensitive=False)(events, _END)) is not _END:
        yield chunk


def stream_response(request, events) -> StreamingHttpResponse:
    """Answer a text/event-stream, async under ASGI so each frame leaves as it is made."""
    if isinstance(request, ASGIRequest):
        events = _async_events(events)
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


# Chat Completions shapes


def completion_object(reply: Message, *, conversation_id: str) -> dict:
    return {
        "id": f"chatcmpl-{reply.public_id}",
        "object": "chat.completion",
        "created": s.unix(reply.created_at),
        "model": reply.model,
        "conversation": conversation_id,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content, "refusal": None},
                "finish_reason": FINISH_REASON.get(reply.status, "stop"),
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens,
        },
    }


def completion_events(reply: Message, *, conversation_id: str):
    """Yield chat.completion.chunk events, then `data: [DONE]`."""
    base = {
        "id": f"chatcmpl-{reply.public_id}",
        "object": "chat.completion.chunk",
        "created": s.unix(reply.created_at),
        "model": reply.model,
        "conversation": conversation_id,
    }

    def chunk(delta: dict, finish=None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return f"data: {json.dumps({**base, 'choices': [choice]})}\n\n".encode()

    yield chunk({"role": "assistant", "content": ""})
    sent = ""
    current = reply
    for current in follow(reply):
        if current.content.startswith(sent) and len(current.content) > len(sent):
            yield chunk({"content": current.content[len(sent) :]})
            sent = current.content
    yield chunk({}, FINISH_REASON.get(current.status, "stop"))
    yield b"data: [DONE]\n\n"
