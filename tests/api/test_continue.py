"""POST /api/messages/<id>/continue/: 202 with the reply running again, refusals, limits."""

from conversations.models import Conversation, Message
from tests.api.conftest import finished_turn
from tests.factories import ConversationFactory


def ended_reply(owner, status=Message.Status.STOPPED):
    conversation = ConversationFactory(owner=owner, title="Lisbon")
    _, reply = finished_turn(conversation, "What to see?")
    Message.objects.filter(pk=reply.pk).update(status=status, status_reason="Stopped by user.")
    return reply


def test_continue_answers_202_with_the_reply_in_progress_and_its_text(api, owner):
    reply = ended_reply(owner)
    response = api.post(f"/api/messages/{reply.public_id}/continue/")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["id"] == reply.public_id
    assert (body["status"], body["content"], body["status_reason"]) == (
        "in_progress",
        "Re: What to see?",
        "",
    )
    assert Message.objects.filter(conversation=reply.conversation).count() == 2


def test_a_completed_reply_is_409_and_a_locked_conversation_403(api, owner):
    reply = ended_reply(owner, status=Message.Status.COMPLETED)
    response = api.post(f"/api/messages/{reply.public_id}/continue/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "message_not_continuable"
    Message.objects.filter(pk=reply.pk).update(status=Message.Status.INCOMPLETE)
    Conversation.objects.filter(pk=reply.conversation_id).update(status=Conversation.Status.CLOSED)
    response = api.post(f"/api/messages/{reply.public_id}/continue/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "conversation_not_open"


def test_continue_counts_against_the_generation_limit(api, owner, settings, one_rate_window):
    settings.GENERATION_RATE = settings.API_KEY_GENERATION_RATE = "1/min"
    first, second = ended_reply(owner), ended_reply(owner)
    assert api.post(f"/api/messages/{first.public_id}/continue/").status_code == 202
    assert api.post(f"/api/messages/{second.public_id}/continue/").status_code == 429
    assert Message.objects.get(pk=second.pk).status == Message.Status.STOPPED
