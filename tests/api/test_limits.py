"""Limits answer with clear errors and leave nothing half-done."""

import json

import pytest

from conversations.models import Conversation, Message
from tests.api.conftest import finished_turn
from tests.factories import ConversationFactory


@pytest.fixture
def conversation(owner):
    return ConversationFactory(owner=owner, title="Chat")


def test_title_over_200_characters_is_a_field_error(api, conversation):
    response = api.patch(f"/api/conversations/{conversation.public_id}/", {"title": "x" * 201})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "title": ["Ensure this field has no more than 200 characters."]
    }
    assert api.post("/api/conversations/", {"title": "x" * 201}).status_code == 400
    assert api.post("/api/conversations/", {"title": "x" * 200}).status_code == 201


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        ({f"k{i}": "v" for i in range(17)}, "At most 16 metadata keys."),
        ({"k" * 65: "v"}, "Metadata keys are at most 64 characters."),
        ({"k": "v" * 513}, "Ensure this field has no more than 512 characters."),
        ({"k": 1}, "Metadata keys and values must be strings."),
        (["k"], 'Expected a dictionary of items but got type "list".'),
    ],
)
def test_metadata_limits(api, conversation, metadata, problem):
    response = api.patch(f"/api/conversations/{conversation.public_id}/", {"metadata": metadata})
    assert response.status_code == 400
    assert problem in " ".join(response.json()["error"]["fields"]["metadata"])
    conversation.refresh_from_db()
    assert conversation.metadata == {}


def test_metadata_at_the_limits_is_accepted(api, conversation):
    metadata = {f"{i:02d}" + "k" * 62: "v" * 512 for i in range(16)}
    response = api.patch(f"/api/conversations/{conversation.public_id}/", {"metadata": metadata})
    assert response.status_code == 200
    conversation.refresh_from_db()
    assert conversation.metadata == metadata


def test_message_longer_than_the_setting_is_413_and_nothing_is_saved(api, conversation, settings):
    settings.MAX_MESSAGE_CHARS = 50
    url = f"/api/conversations/{conversation.public_id}/messages/"
    response = api.post(url, {"content": "x" * 51})
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "message_too_long",
        "message": "Messages are at most 50 characters (this one has 51).",
    }
    assert not Message.objects.exists()
    assert api.post(url, {"content": "x" * 50}).status_code == 202


def test_full_conversation_refuses_new_messages(api, conversation, settings):
    settings.MAX_MESSAGES_PER_CONVERSATION = 4
    finished_turn(conversation)
    finished_turn(conversation)
    response = api.post(
        f"/api/conversations/{conversation.public_id}/messages/", {"content": "More"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "conversation_full"
    assert "reached 4 messages" in response.json()["error"]["message"]
    assert Message.objects.filter(conversation=conversation).count() == 4


def test_default_limits_match_the_issue(settings):
    assert settings.MAX_MESSAGES_PER_CONVERSATION == 10_000
    assert settings.MAX_MESSAGE_CHARS == 100_000


def test_request_body_over_the_upload_limit_is_413_json(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post("/api/conversations/", {"title": "t", "metadata": {"k": "v" * 1200}})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert not Conversation.objects.exists()


def test_malformed_json_is_a_clear_400(api):
    response = api.client.post(
        "/api/conversations/",
        "{not json",
        content_type="application/json",
        headers=api.headers,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert response.json()["error"]["message"].startswith("JSON parse error")


def test_non_json_body_is_415(api):
    response = api.client.post(
        "/api/conversations/",
        json.dumps({"title": "x"}),
        content_type="text/plain",
        headers=api.headers,
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
