"""The real `openai` SDK generating replies through /v1 against a live server and fake upstream."""

import asyncio
import time

import openai
import pytest

from conversations.models import Conversation, Message
from tests.factories import ConversationFactory, MessageFactory
from v1.generate import _async_events

REPLY = "Hello there! Here is a fake reply."


@pytest.fixture
def upstream(fake_openai):
    return fake_openai


def test_responses_create_stores_the_turn_in_the_conversation(sdk, upstream):
    conversation = sdk.conversations.create()
    response = sdk.responses.create(
        model="fake-model", input="Hi", conversation=conversation.id, instructions="Be brief."
    )
    assert response.status == "completed"
    assert response.output_text == REPLY
    assert response.id.startswith("resp_")
    stored = Conversation.objects.get(public_id=conversation.id)
    assert list(stored.messages.order_by("created_at", "id").values_list("role", "content")) == [
        ("system", "Be brief."),
        ("user", "Hi"),
        ("assistant", REPLY),
    ]
    fetched = sdk.responses.retrieve(response.id)
    assert fetched.output_text == REPLY and fetched.status == "completed"


def test_responses_create_with_input_items_and_no_conversation(sdk, upstream):
    response = sdk.responses.create(
        model="fake-model",
        input=[
            {"role": "user", "content": "One"},
            {"role": "assistant", "content": "Two"},
            {"role": "user", "content": [{"type": "input_text", "text": "Three"}]},
        ],
    )
    assert response.output_text == REPLY
    conversation = Conversation.objects.get(public_id=response.conversation.id)
    assert conversation.messages.count() == 4


def test_responses_stream_sends_the_events_in_order(sdk, upstream):
    conversation = sdk.conversations.create()
    types = []
    with sdk.responses.stream(
        model="fake-model", input="Hi", conversation=conversation.id
    ) as stream:
        for event in stream:
            types.append(event.type)
        final = stream.get_final_response()
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert "response.output_text.delta" in types
    assert types.index("response.output_item.added") < types.index("response.output_text.delta")
    assert final.output_text == REPLY


def test_responses_create_stream_true(sdk, upstream):
    events = list(sdk.responses.create(model="fake-model", input="Hi", stream=True))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == REPLY
    assert events[-1].response.status == "completed"


def test_cancel_stops_the_reply(sdk, owner):
    # Under the WSGI live server the engine runs inline, so the reply is made mid-generation.
    conversation = ConversationFactory(owner=owner)
    prompt = MessageFactory(conversation=conversation, role=Message.Role.USER)
    reply = MessageFactory(
        conversation=conversation,
        parent=prompt,
        role=Message.Role.ASSISTANT,
        status=Message.Status.IN_PROGRESS,
        content="Half a",
    )
    cancelled = sdk.responses.cancel(f"resp_{reply.public_id}")
    assert cancelled.status == "cancelled" and cancelled.output_text == "Half a"
    reply.refresh_from_db()
    assert reply.status == Message.Status.STOPPED


def test_disconnecting_client_does_not_stop_the_reply(sdk, upstream):
    upstream.token_delay = 0.05
    stream = sdk.responses.create(model="fake-model", input="Hi", stream=True)
    created = next(iter(stream))
    stream.close()
    public_id = created.response.id.removeprefix("resp_")
    deadline = time.monotonic() + 10
    while Message.objects.get(public_id=public_id).status == Message.Status.IN_PROGRESS:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert Message.objects.get(public_id=public_id).content == REPLY


def test_chat_completions_plain_and_stream(sdk, upstream):
    conversation = sdk.conversations.create()
    completion = sdk.chat.completions.create(
        model="fake-model",
        messages=[{"role": "user", "content": "Hi"}],
        extra_body={"conversation": conversation.id},
    )
    assert completion.choices[0].message.content == REPLY
    assert completion.choices[0].finish_reason == "stop"
    stored = Conversation.objects.get(public_id=conversation.id)
    assert stored.messages.count() == 2
    chunks = list(
        sdk.chat.completions.create(
            model="fake-model",
            messages=[{"role": "user", "content": "Again"}],
            stream=True,
            extra_body={"conversation": conversation.id},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY
    assert stored.messages.count() == 4


def test_chat_completions_without_conversation_stores_a_new_one(sdk, upstream, owner):
    before = Conversation.objects.filter(owner=owner).count()
    completion = sdk.chat.completions.create(
        model="fake-model",
        messages=[{"role": "system", "content": "Terse."}, {"role": "user", "content": "Hi"}],
    )
    assert completion.choices[0].message.content == REPLY
    assert Conversation.objects.filter(owner=owner).count() == before + 1


def test_models_lists_the_configured_models(sdk, upstream):
    assert [m.id for m in sdk.models.list()] == ["fake-model", "fake-model-2"]


def test_unknown_model_is_400_and_stores_nothing(sdk, upstream, owner):
    conversation = sdk.conversations.create()
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.responses.create(model="nope", input="Hi", conversation=conversation.id)
    assert caught.value.body["param"] == "model"
    with pytest.raises(openai.BadRequestError):
        sdk.chat.completions.create(model="nope", messages=[{"role": "user", "content": "Hi"}])
    assert not Message.objects.filter(conversation__owner=owner).exists()


def test_another_users_conversation_is_404(sdk, outsider_sdk, upstream):
    conversation = sdk.conversations.create()
    with pytest.raises(openai.NotFoundError):
        outsider_sdk.responses.create(model="fake-model", input="Hi", conversation=conversation.id)
    response = sdk.responses.create(model="fake-model", input="Hi", conversation=conversation.id)
    with pytest.raises(openai.NotFoundError):
        outsider_sdk.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        outsider_sdk.responses.cancel(response.id)


def test_locked_conversation_is_403(sdk, upstream):
    conversation = sdk.conversations.create()
    Conversation.objects.filter(public_id=conversation.id).update(status=Conversation.Status.LOCKED)
    with pytest.raises(openai.PermissionDeniedError):
        sdk.responses.create(model="fake-model", input="Hi", conversation=conversation.id)
    with pytest.raises(openai.PermissionDeniedError):
        sdk.chat.completions.create(
            model="fake-model",
            messages=[{"role": "user", "content": "Hi"}],
            extra_body={"conversation": conversation.id},
        )
    assert not Message.objects.filter(conversation__public_id=conversation.id).exists()


@pytest.mark.parametrize(
    "body,param",
    [
        ({"model": "fake-model"}, "input"),
        ({"model": "fake-model", "input": ""}, "input"),
        ({"model": "fake-model", "input": [{"role": "assistant", "content": "x"}]}, "input"),
        ({"model": "fake-model", "input": "x", "conversation": 5}, "conversation"),
        ({"model": "fake-model", "input": "x", "stream": "yes"}, "stream"),
        ({"model": "fake-model", "input": "x", "tools": []}, "tools"),
        ({"input": "x"}, "model"),
    ],
)
def test_responses_bad_input_is_400_and_stores_nothing(sdk, upstream, owner, body, param):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.post("/responses", body=body, cast_to=object)
    assert caught.value.body["param"] == param
    assert not Conversation.objects.filter(owner=owner).exists()


@pytest.mark.parametrize(
    "body,param",
    [
        ({"model": "fake-model"}, "messages"),
        ({"model": "fake-model", "messages": []}, "messages"),
        (
            {"model": "fake-model", "messages": [{"role": "tool", "content": "x"}]},
            "messages[0].role",
        ),
        ({"model": "fake-model", "messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
    ],
)
def test_chat_completions_bad_input_is_400_and_stores_nothing(sdk, upstream, owner, body, param):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.post("/chat/completions", body=body, cast_to=object)
    assert caught.value.body["param"] == param
    assert not Conversation.objects.filter(owner=owner).exists()


def test_stream_frames_are_pulled_one_at_a_time_under_asgi():
    # Under ASGI Django would buffer a sync iterator whole; the wrapper yields as frames come.
    async def collect():
        return [chunk async for chunk in _async_events(iter([b"a", b"b"]))]

    assert asyncio.run(collect()) == [b"a", b"b"]
