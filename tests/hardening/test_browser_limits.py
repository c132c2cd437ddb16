"""The browser's sends count against the same generation limit as the API."""

import pytest

from conversations.models import Conversation, Message
from sharing.models import ShareLink
from tests.factories import ConversationFactory
from tests.ui.conftest import HTMX

pytestmark = pytest.mark.usefixtures("one_rate_window")


def test_fourth_browser_send_is_refused_with_the_text_kept(owner_client, owner, settings):
    settings.GENERATION_RATE = "3/min"
    conversation = ConversationFactory(owner=owner, title="Trip")
    url = f"/c/{conversation.public_id}/messages/"
    refused = 0
    for n in range(5):
        Message.objects.filter(status=Message.Status.IN_PROGRESS).update(
            status=Message.Status.COMPLETED
        )
        response = owner_client.post(url, {"content": f"Typed words {n}"}, headers=HTMX)
        if response.status_code == 429:
            refused += 1
            assert "too fast" in response.text
            assert f"Typed words {n}" in response.text
    assert refused == 2
    assert Message.objects.filter(role=Message.Role.USER).count() == 3


def test_new_conversation_send_is_throttled_too(owner_client, settings):
    settings.GENERATION_RATE = "1/min"
    assert owner_client.post("/send/", {"content": "one"}).status_code in (200, 302)
    response = owner_client.post("/send/", {"content": "two kept"})
    assert response.status_code == 429
    assert "two kept" in response.text
    assert Conversation.objects.count() == 1


def test_browser_share_and_bulk_count_against_the_write_limit(owner_client, owner, settings):
    settings.API_WRITE_RATE = "2/min"
    conversation = ConversationFactory(owner=owner, title="Trip")
    share_url = f"/c/{conversation.public_id}/share/"
    statuses = [
        owner_client.post(share_url, {"expiry": "never"}, headers=HTMX).status_code
        for _ in range(3)
    ]
    assert statuses[-1] == 429
    assert ShareLink.objects.count() == statuses.count(200)
    response = owner_client.post(
        "/bulk/",
        {"action": "archive", "ids": [conversation.public_id]},
        headers=HTMX,
    )
    assert response.status_code == 429
    assert "too fast" in response.text
    conversation.refresh_from_db()
    assert conversation.archived_at is None


def test_browser_branch_counts_against_the_write_limit_like_the_api(owner_client, owner, settings):
    settings.API_WRITE_RATE = "1/min"
    conversation = ConversationFactory(owner=owner, title="Trip")
    question = Message.objects.create(conversation=conversation, role="user", content="Hi")
    url = f"/m/{question.public_id}/branch/"
    assert owner_client.post(url, headers=HTMX).status_code == 200  # HX-Redirect to the copy
    refused = owner_client.post(url, headers=HTMX)
    assert refused.status_code == 429
    assert "too fast" in refused.text
    assert Conversation.objects.filter(owner=owner).count() == 2
