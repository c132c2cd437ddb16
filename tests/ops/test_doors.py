"""A lock or close made in the admin stops the next send through every door, reason shown."""

import json

import pytest
from django.urls import reverse

from accounts.services import api_key_create
from conversations.models import Message
from tests.ops.world import make_conversation


@pytest.fixture
def conversation(owner):
    return make_conversation(owner=owner, messages=2)


@pytest.fixture
def bearer(owner):
    _, raw = api_key_create(user=owner, name="ops tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def moderate(client, staff, conversation, action, reason=""):
    client.force_login(staff)
    response = client.post(
        reverse("admin:conversations_conversation_changelist"),
        {"action": action, "_selected_action": [conversation.pk], "apply": "1", "reason": reason},
    )
    assert response.status_code == 302
    client.logout()


def send_html(client, owner, conversation, bearer):
    client.force_login(owner)
    return client.post(
        reverse("conversation-messages", args=[conversation.public_id]), {"content": "Hi"}
    )


def send_rest(client, owner, conversation, bearer):
    client.force_login(owner)
    return client.post(
        reverse("api-messages-send", args=[conversation.public_id]),
        {"content": "Hi"},
        content_type="application/json",
    )


def send_v1(client, owner, conversation, bearer):
    return client.post(
        f"/v1/conversations/{conversation.public_id}/items",
        json.dumps({"items": [{"type": "message", "role": "user", "content": "Hi"}]}),
        content_type="application/json",
        **bearer,
    )


DOORS = [send_html, send_rest, send_v1]


@pytest.mark.parametrize("door", DOORS, ids=["html", "rest", "v1"])
@pytest.mark.parametrize(
    ("action", "status"), [("lock_conversations", "locked"), ("close_conversations", "closed")]
)
def test_moderated_conversation_refuses_the_next_send_with_the_reason(
    client, staff, owner, conversation, bearer, door, action, status
):
    moderate(client, staff, conversation, action, reason="Off-topic spam")

    response = door(client, owner, conversation, bearer)

    assert response.status_code == 403
    assert f"This conversation is {status}: Off-topic spam" in response.content.decode()
    assert Message.objects.filter(conversation=conversation).count() == 2


@pytest.mark.parametrize("door", DOORS, ids=["html", "rest", "v1"])
def test_reopened_conversation_accepts_sends_again(
    client, staff, owner, conversation, bearer, door
):
    moderate(client, staff, conversation, "lock_conversations", reason="Spam")
    moderate(client, staff, conversation, "reopen_conversations")

    response = door(client, owner, conversation, bearer)

    assert response.status_code < 400  # the HTML door redirects to the conversation
    assert Message.objects.filter(conversation=conversation).count() > 2


@pytest.mark.parametrize("door", DOORS, ids=["html", "rest", "v1"])
def test_deleted_conversation_is_gone_from_every_door(
    client, staff, owner, conversation, bearer, door
):
    moderate(client, staff, conversation, "delete_conversations", reason="Illegal")

    response = door(client, owner, conversation, bearer)

    assert response.status_code == 404
