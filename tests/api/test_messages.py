"""Messages over /api: send, idempotency, edit, regenerate, delete, siblings, stop, errors."""

import pytest

from conversations.models import Conversation, Message
from tests.api.conftest import finished_turn, in_progress_reply
from tests.factories import ConversationFactory


@pytest.fixture
def conversation(owner):
    return ConversationFactory(owner=owner, title="Chat")


def send_url(conversation):
    return f"/api/conversations/{conversation.public_id}/messages/"


def test_send_answers_202_with_the_user_message_and_the_reply_in_progress(api, conversation):
    response = api.post(send_url(conversation), {"content": "Hello there"})
    assert response.status_code == 202
    body = response.json()
    assert body["user_message"]["role"] == "user"
    assert body["user_message"]["content"] == "Hello there"
    assert body["assistant_message"]["role"] == "assistant"
    assert body["assistant_message"]["status"] == "in_progress"
    reply = Message.objects.get(public_id=body["assistant_message"]["id"])
    assert reply.parent.public_id == body["user_message"]["id"]
    conversation.refresh_from_db()
    assert conversation.current_message == reply


def test_send_with_the_same_client_id_twice_creates_one_turn(api, conversation):
    first = api.post(send_url(conversation), {"content": "Hi", "client_id": "c-1"})
    again = api.post(send_url(conversation), {"content": "Hi", "client_id": "c-1"})
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Message.objects.filter(conversation=conversation).count() == 2


def test_send_while_a_reply_is_generated_is_409(api, conversation):
    in_progress_reply(conversation)
    response = api.post(send_url(conversation), {"content": "And?"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "generation_in_progress"
    assert Message.objects.filter(conversation=conversation).count() == 2


@pytest.mark.parametrize("status", ["locked", "closed"])
def test_send_to_a_locked_or_closed_conversation_is_403(api, conversation, status):
    Conversation.objects.filter(pk=conversation.pk).update(status=status, status_reason="Spam")
    response = api.post(send_url(conversation), {"content": "Hi"})
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "conversation_not_open",
        "message": f"This conversation is {status}: Spam",
    }
    assert not Message.objects.exists()


def test_send_of_an_empty_message_is_a_field_error(api, conversation):
    response = api.post(send_url(conversation), {"content": "   "})
    assert response.status_code == 400
    assert "content" in response.json()["error"]["fields"]


def test_send_with_an_unknown_model_is_a_field_error(api, conversation):
    response = api.post(send_url(conversation), {"content": "Hi", "model": "gpt-99"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["model"][0].startswith("Unknown model.")


def test_edit_adds_a_sibling_with_a_new_reply(api, conversation):
    question, reply = finished_turn(conversation, "Tea?")
    response = api.post(f"/api/messages/{question.public_id}/edit/", {"content": "Coffee?"})
    assert response.status_code == 202
    body = response.json()
    edited = Message.objects.get(public_id=body["user_message"]["id"])
    assert edited.parent_id == question.parent_id
    assert edited.content == "Coffee?"
    assert body["assistant_message"]["status"] == "in_progress"
    question.refresh_from_db()  # the original stays
    siblings = api.get(f"/api/messages/{question.public_id}/siblings/").json()
    assert [m["id"] for m in siblings["data"]] == [question.public_id, edited.public_id]
    assert siblings["position"] == 1


def test_edit_of_a_reply_is_a_field_error(api, conversation):
    _, reply = finished_turn(conversation)
    response = api.post(f"/api/messages/{reply.public_id}/edit/", {"content": "x"})
    assert response.status_code == 400


def test_regenerate_adds_a_sibling_reply_with_the_chosen_model(api, conversation, settings):
    settings.CHAT_MODELS = ["demo", "other"]
    question, reply = finished_turn(conversation)
    response = api.post(f"/api/messages/{reply.public_id}/regenerate/", {"model": "other"})
    assert response.status_code == 202
    body = response.json()
    assert body["user_message"]["id"] == question.public_id
    new_reply = Message.objects.get(public_id=body["assistant_message"]["id"])
    assert new_reply.parent == question
    assert new_reply.model == "other"
    siblings = api.get(f"/api/messages/{new_reply.public_id}/siblings/").json()
    assert [m["id"] for m in siblings["data"]] == [reply.public_id, new_reply.public_id]
    assert siblings["position"] == 2


def test_regenerate_while_generating_is_409(api, conversation):
    _, reply = finished_turn(conversation)
    in_progress_reply(conversation)
    response = api.post(f"/api/messages/{reply.public_id}/regenerate/", {})
    assert response.status_code == 409


def test_delete_removes_the_message_and_its_replies(api, conversation):
    q1, r1 = finished_turn(conversation, "one")
    q2, r2 = finished_turn(conversation, "two")
    response = api.delete(f"/api/messages/{q2.public_id}/")
    assert response.status_code == 204
    assert list(Message.objects.filter(conversation=conversation)) == [q1, r1]
    conversation.refresh_from_db()
    assert conversation.current_message == r1
    assert conversation.message_count == 2


def test_retrieve_a_message(api, conversation):
    _, reply = finished_turn(conversation, "Hi")
    body = api.get(f"/api/messages/{reply.public_id}/").json()
    assert body["id"] == reply.public_id
    assert body["content"] == "Re: Hi"
    assert body["model"] == "demo"


def test_stop_ends_the_running_reply_keeping_its_text(api, conversation):
    reply = in_progress_reply(conversation)
    Message.objects.filter(pk=reply.pk).update(content="Partial answ")
    response = api.post(f"/api/conversations/{conversation.public_id}/stop/")
    assert response.status_code == 200
    body = response.json()
    assert body["stopped"] is True
    assert body["message"]["id"] == reply.public_id
    reply.refresh_from_db()
    assert reply.status == "stopped"
    assert reply.content == "Partial answ"


def test_stop_with_nothing_running_says_so(api, conversation):
    finished_turn(conversation)
    response = api.post(f"/api/conversations/{conversation.public_id}/stop/")
    assert response.status_code == 200
    assert response.json() == {"stopped": False, "message": None}
