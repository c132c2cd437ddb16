"""The official `openai` SDK, unchanged, against a live server: /v1 speaks its wire format."""

import openai
import pytest
from openai.pagination import SyncConversationCursorPage
from openai.types.conversations import Conversation as SdkConversation

from conversations.models import Conversation, Message
from tests.factories import MessageFactory
from tests.v1.conftest import make_sdk


def test_sdk_creates_retrieves_updates_and_deletes_a_conversation(sdk, owner):
    created = sdk.conversations.create(
        metadata={"topic": "demo"},
        items=[
            {"type": "message", "role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "input_text", "text": "Hello"}]},
            {"role": "assistant", "content": [{"type": "output_text", "text": "Hi!"}]},
        ],
    )
    assert created.object == "conversation"
    assert created.id.startswith("conv_")
    assert created.metadata == {"topic": "demo"}
    assert isinstance(created.created_at, int)
    stored = Conversation.objects.get(public_id=created.id)
    assert stored.owner == owner
    assert stored.message_count == 3

    fetched = sdk.conversations.retrieve(created.id)
    assert fetched.id == created.id
    assert fetched.created_at == created.created_at

    updated = sdk.conversations.update(created.id, metadata={"stage": "2"})
    assert updated.metadata == {"stage": "2"}  # replaced, not merged
    assert sdk.conversations.retrieve(created.id).metadata == {"stage": "2"}

    deleted = sdk.conversations.delete(created.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (
        created.id,
        "conversation.deleted",
        True,
    )
    assert not Conversation.objects.filter(public_id=created.id).exists()
    with pytest.raises(openai.NotFoundError):
        sdk.conversations.retrieve(created.id)


def test_sdk_items_round_trip_with_typed_content_parts(sdk):
    conversation = sdk.conversations.create(items=[{"role": "system", "content": "You are terse."}])
    added = sdk.conversations.items.create(
        conversation.id,
        items=[
            {"role": "user", "content": "What is 2 + 2?"},
            {"type": "message", "role": "assistant", "content": "4"},
        ],
    )
    assert added.object == "list"
    assert [item.role for item in added.data] == ["user", "assistant"]
    assert added.first_id == added.data[0].id and added.last_id == added.data[1].id
    assert added.has_more is False

    user_item, assistant_item = added.data
    assert user_item.id.startswith("msg_")
    assert user_item.type == "message" and user_item.status == "completed"
    assert user_item.content[0].type == "input_text"
    assert user_item.content[0].text == "What is 2 + 2?"
    assert assistant_item.content[0].type == "output_text"
    assert assistant_item.content[0].text == "4"
    assert assistant_item.content[0].annotations == []

    fetched = sdk.conversations.items.retrieve(user_item.id, conversation_id=conversation.id)
    assert fetched.id == user_item.id and fetched.content[0].text == "What is 2 + 2?"

    listed = sdk.conversations.items.list(conversation.id)
    # Newest first by default; the system item is the oldest.
    assert [item.role for item in listed.data] == ["assistant", "user", "system"]

    after_delete = sdk.conversations.items.delete(
        assistant_item.id, conversation_id=conversation.id
    )
    assert after_delete.object == "conversation" and after_delete.id == conversation.id
    remaining = sdk.conversations.items.list(conversation.id, order="asc")
    assert [item.role for item in remaining.data] == ["system", "user"]
    with pytest.raises(openai.NotFoundError):
        sdk.conversations.items.retrieve(assistant_item.id, conversation_id=conversation.id)


def test_sdk_auto_paging_iterator_walks_every_item_in_both_orders(sdk):
    texts = [f"turn {i}" for i in range(7)]
    conversation = sdk.conversations.create(
        items=[
            {"role": "user" if i % 2 == 0 else "assistant", "content": t}
            for i, t in enumerate(texts)
        ]
    )

    ascending = sdk.conversations.items.list(conversation.id, limit=2, order="asc")
    assert len(ascending.data) == 2 and ascending.has_more is True
    assert [item.content[0].text for item in ascending] == texts  # iterates across 4 pages

    descending = sdk.conversations.items.list(conversation.id, limit=2)
    assert [item.content[0].text for item in descending] == texts[::-1]

    pages = list(sdk.conversations.items.list(conversation.id, limit=3, order="asc").iter_pages())
    assert [len(page.data) for page in pages] == [3, 3, 1]
    assert pages[-1].has_more is False


def test_sdk_lists_only_the_active_branch(sdk, owner):
    conversation = sdk.conversations.create(items=[{"role": "user", "content": "question"}])
    stored = Conversation.objects.get(public_id=conversation.id)
    question = stored.current_message
    old_answer = MessageFactory(
        conversation=stored, parent=question, role=Message.Role.ASSISTANT, content="old answer"
    )
    new_answer = MessageFactory(
        conversation=stored, parent=question, role=Message.Role.ASSISTANT, content="new answer"
    )
    stored.current_message = new_answer
    stored.message_count = 3
    stored.save(update_fields=["current_message", "message_count"])

    texts = [
        item.content[0].text for item in sdk.conversations.items.list(conversation.id, order="asc")
    ]
    assert texts == ["question", "new answer"]
    # An item of another branch is still that conversation's item.
    assert sdk.conversations.items.retrieve(old_answer.public_id, conversation_id=conversation.id)


def test_sdk_lists_the_key_owners_conversations_with_the_extension(sdk, outsider_sdk):
    mine = [sdk.conversations.create(metadata={"n": str(i)}).id for i in range(5)]
    outsider_sdk.conversations.create()
    page = sdk.get_api_list(
        "/conversations",
        model=SdkConversation,
        page=SyncConversationCursorPage[SdkConversation],
        options={"params": {"limit": 2}},
    )
    ids = [conversation.id for conversation in page]  # auto-pages through 3 pages
    assert ids == mine[::-1]
    titled = sdk.conversations.create(extra_body={"title": "Trip plans"})
    assert titled.title == "Trip plans"


def test_sdk_raises_not_found_for_another_users_conversation(sdk, outsider_sdk):
    conversation = sdk.conversations.create(items=[{"role": "user", "content": "private"}])
    item_id = sdk.conversations.items.list(conversation.id).data[0].id

    with pytest.raises(openai.NotFoundError) as foreign:
        outsider_sdk.conversations.retrieve(conversation.id)
    with pytest.raises(openai.NotFoundError) as missing:
        outsider_sdk.conversations.retrieve("conv_does_not_exist")
    assert foreign.value.body == missing.value.body
    assert foreign.value.body["code"] == "not_found"

    for call in (
        lambda: outsider_sdk.conversations.update(conversation.id, metadata={}),
        lambda: outsider_sdk.conversations.delete(conversation.id),
        lambda: outsider_sdk.conversations.items.list(conversation.id),
        lambda: outsider_sdk.conversations.items.create(
            conversation.id, items=[{"role": "user", "content": "sneaky"}]
        ),
        lambda: outsider_sdk.conversations.items.retrieve(item_id, conversation_id=conversation.id),
        lambda: outsider_sdk.conversations.items.delete(item_id, conversation_id=conversation.id),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    assert Conversation.objects.get(public_id=conversation.id).message_count == 1


def test_sdk_raises_authentication_error_for_a_bad_key(live_server, transactional_db):
    with (
        make_sdk(live_server, "sk-chat-not-a-real-key") as client,
        pytest.raises(openai.AuthenticationError) as error,
    ):
        client.conversations.create()
    assert error.value.body["type"] == "authentication_error"
    assert error.value.body["code"] == "invalid_api_key"
    assert not Conversation.objects.exists()


def test_sdk_raises_bad_request_for_seventeen_metadata_keys(sdk):
    with pytest.raises(openai.BadRequestError) as error:
        sdk.conversations.create(metadata={f"k{i}": "v" for i in range(17)})
    assert error.value.body["param"] == "metadata"
    assert error.value.body["type"] == "invalid_request_error"
    assert not Conversation.objects.exists()


def test_sdk_raises_bad_request_for_twenty_one_items_and_creates_nothing(sdk):
    with pytest.raises(openai.BadRequestError) as error:
        sdk.conversations.create(items=[{"role": "user", "content": "x"}] * 21)
    assert error.value.body["param"] == "items"
    assert not Conversation.objects.exists()


def test_sdk_raises_conflict_while_a_reply_is_generating(sdk):
    conversation = sdk.conversations.create(items=[{"role": "user", "content": "hi"}])
    stored = Conversation.objects.get(public_id=conversation.id)
    MessageFactory(
        conversation=stored,
        parent=stored.current_message,
        role=Message.Role.ASSISTANT,
        status=Message.Status.IN_PROGRESS,
        content="",
    )
    with pytest.raises(openai.ConflictError) as error:
        sdk.conversations.items.create(conversation.id, items=[{"role": "user", "content": "more"}])
    assert error.value.body["code"] == "generation_in_progress"


def test_sdk_raises_permission_denied_for_a_locked_conversation(sdk):
    conversation = sdk.conversations.create(items=[{"role": "user", "content": "hi"}])
    Conversation.objects.filter(public_id=conversation.id).update(
        status=Conversation.Status.LOCKED, status_reason="Under review"
    )
    with pytest.raises(openai.PermissionDeniedError) as error:
        sdk.conversations.items.create(conversation.id, items=[{"role": "user", "content": "more"}])
    assert "Under review" in error.value.body["message"]
    item_id = sdk.conversations.items.list(conversation.id).data[0].id
    with pytest.raises(openai.PermissionDeniedError):
        sdk.conversations.items.delete(item_id, conversation_id=conversation.id)


def test_sdk_raises_rate_limit_error_past_the_write_rate(sdk, settings, one_rate_window):
    settings.API_WRITE_RATE = "3/min"
    created = [sdk.conversations.create() for _ in range(3)]
    with pytest.raises(openai.RateLimitError) as error:
        sdk.conversations.create()
    assert error.value.body["code"] == "rate_limit_exceeded"
    assert int(error.value.response.headers["Retry-After"]) >= 1
    assert Conversation.objects.count() == 3
    # Reads are not writes: they still pass.
    assert sdk.conversations.retrieve(created[0].id).id == created[0].id
