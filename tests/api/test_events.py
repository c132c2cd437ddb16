"""A reply as server-sent events: the stored text first, then live deltas, then the end."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.test import AsyncClient

from conversations.models import Message
from core import events
from tests.api.conftest import finished_turn, in_progress_row, make_key
from tests.factories import ConversationFactory


def parse_frames(chunks: list[bytes]) -> list[dict]:
    text = b"".join(chunks).decode()
    return [
        json.loads(block.removeprefix("data: "))
        for block in text.split("\n\n")
        if block.startswith("data: ")
    ]


async def read_frame(iterator) -> dict:
    while True:
        chunk = await asyncio.wait_for(anext(iterator), timeout=5)
        if chunk.startswith(b"data: "):
            return parse_frames([chunk])[0]


@pytest.fixture
def key(owner):
    return make_key(owner)


@pytest.fixture
def conversation(owner):
    return ConversationFactory(owner=owner)


def events_url(message):
    return f"/api/messages/{message.public_id}/events/"


@pytest.mark.django_db(transaction=True)
async def test_a_finished_reply_streams_its_text_then_ends(conversation, key):
    _, reply = await sync_to_async(finished_turn)(conversation, "Hi")
    response = await AsyncClient().get(
        events_url(reply), headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    frames = parse_frames([chunk async for chunk in response.streaming_content])
    assert [f["type"] for f in frames] == ["message", "done"]
    assert frames[0]["message"]["content"] == "Re: Hi"
    assert frames[1]["message"]["status"] == "completed"


@pytest.mark.django_db(transaction=True)
async def test_a_running_reply_streams_partial_text_deltas_and_its_final_state(conversation, key):
    reply = await sync_to_async(in_progress_row)(conversation)
    await Message.objects.filter(pk=reply.pk).aupdate(content="Lis")
    response = await AsyncClient().get(
        events_url(reply), headers={"Authorization": f"Bearer {key}"}
    )
    stream = aiter(response.streaming_content)
    first = await read_frame(stream)
    assert first["type"] == "message"
    assert first["message"]["content"] == "Lis"
    assert first["message"]["status"] == "in_progress"

    group = events.conversation_group(conversation.public_id)
    layer = get_channel_layer()
    previous = ""
    for text in ("Lisbon", "Lisbon is"):
        await layer.group_send(group, delta_event(reply.public_id, previous, text))
        previous = text
    # Events of other messages in the same conversation are not this stream's business.
    await layer.group_send(group, delta_event("msg_other", "", "nope"))
    assert await read_frame(stream) == {
        "type": "delta",
        "message_id": reply.public_id,
        "delta": "bon",
    }
    assert (await read_frame(stream))["delta"] == " is"

    await Message.objects.filter(pk=reply.pk).aupdate(
        content="Lisbon is lovely", status=Message.Status.COMPLETED
    )
    await layer.group_send(
        group, {"type": "generation.done", "message_id": reply.public_id, "status": "completed"}
    )
    # The last words came only with the final save: they arrive as a delta before the end.
    assert (await read_frame(stream))["delta"] == " lovely"
    done = await read_frame(stream)
    assert done["type"] == "done"
    assert done["message"]["content"] == "Lisbon is lovely"
    assert done["message"]["status"] == "completed"
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


def delta_event(message_id: str, previous: str, text: str) -> dict:
    """Return the raw-text part of a generation.delta event, as the engine publishes it."""
    start = len(previous) if text.startswith(previous) else 0
    return {
        "type": "generation.delta",
        "message_id": message_id,
        "text_start": start,
        "text_delta": text[start:],
    }


@pytest.mark.django_db(transaction=True)
async def test_a_rewritten_text_is_sent_whole(conversation, key):
    reply = await sync_to_async(in_progress_row)(conversation)
    response = await AsyncClient().get(
        events_url(reply), headers={"Authorization": f"Bearer {key}"}
    )
    stream = aiter(response.streaming_content)
    await read_frame(stream)
    layer = get_channel_layer()
    group = events.conversation_group(conversation.public_id)
    previous = ""
    for text in ("Hello", "Goodbye"):
        await layer.group_send(group, delta_event(reply.public_id, previous, text))
        previous = text
    assert (await read_frame(stream))["delta"] == "Hello"
    assert await read_frame(stream) == {
        "type": "text",
        "message_id": reply.public_id,
        "text": "Goodbye",
    }
    await stream.aclose()


@pytest.mark.django_db(transaction=True)
async def test_events_with_a_session(conversation, owner):
    _, reply = await sync_to_async(finished_turn)(conversation)
    client = AsyncClient()
    await client.aforce_login(owner)
    response = await client.get(events_url(reply))
    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_events_of_someone_elses_reply_are_404(conversation, outsider):
    _, reply = await sync_to_async(finished_turn)(conversation)
    outsider_key = await sync_to_async(make_key)(outsider)
    response = await AsyncClient().get(
        events_url(reply), headers={"Authorization": f"Bearer {outsider_key}"}
    )
    assert response.status_code == 404
    assert json.loads(response.content) == {"error": {"code": "not_found", "message": "Not found."}}


@pytest.mark.django_db(transaction=True)
async def test_events_need_credentials(conversation):
    _, reply = await sync_to_async(finished_turn)(conversation)
    response = await AsyncClient().get(events_url(reply))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    bad = await AsyncClient().get(events_url(reply), headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
