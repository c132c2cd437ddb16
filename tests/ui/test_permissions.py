"""Every page and action: the owner may, an outsider gets a 404, anonymous is sent to log in."""

import re

import pytest

from conversations.models import Conversation, Message
from tests.ui.conftest import HTMX, in_progress_turn

# (method, url with {conv}/{reply}/{question}, data) for every view of the browser app.
CONVERSATION_VIEWS = [
    ("get", "/c/{conv}/", {}),
    ("get", "/c/{conv}/messages/", {}),
    ("post", "/c/{conv}/messages/", {"content": "Hi"}),
    ("post", "/c/{conv}/stop/", {}),
    ("get", "/c/{conv}/rename/", {}),
    ("post", "/c/{conv}/rename/", {"title": "Stolen"}),
    ("post", "/c/{conv}/pin/", {"pinned": "1"}),
    ("post", "/c/{conv}/archive/", {"archived": "1"}),
    ("get", "/c/{conv}/delete/", {}),
    ("post", "/c/{conv}/delete/", {}),
    ("post", "/m/{reply}/regenerate/", {}),
    ("post", "/m/{question}/edit/", {"content": "Edited"}),
    ("post", "/m/{reply}/switch/", {"direction": "prev"}),
    ("post", "/m/{reply}/feedback/", {"rating": "up"}),
]
APP_PAGES = ["/", "/sidebar/", "/archived/", "/sidebar/?archived=1"]


def fill(url: str, conversation: Conversation) -> str:
    reply = conversation.current_message
    return url.format(
        conv=conversation.public_id, reply=reply.public_id, question=reply.parent.public_id
    )


def snapshot(conversation: Conversation) -> tuple:
    conv = Conversation.objects.get(pk=conversation.pk)
    return (conv.title, conv.pinned_at, conv.archived_at, conv.current_message_id,
            Message.objects.filter(conversation=conv).count())  # fmt: skip


@pytest.mark.parametrize(("method", "url", "data"), CONVERSATION_VIEWS)
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_outsider_gets_404_and_changes_nothing(
    outsider_client, conversation, method, url, data, headers
):
    before = snapshot(conversation)
    response = getattr(outsider_client, method)(fill(url, conversation), data, headers=headers)
    assert response.status_code == 404
    assert snapshot(conversation) == before


def test_outsider_cannot_stop_someone_elses_reply(outsider_client, conversation):
    running = in_progress_turn(conversation)
    response = outsider_client.post(f"/c/{conversation.public_id}/stop/")
    assert response.status_code == 404
    running.refresh_from_db()
    assert running.status == Message.Status.IN_PROGRESS


def test_missing_and_foreign_conversations_look_the_same(outsider_client, conversation):
    foreign = outsider_client.get(f"/c/{conversation.public_id}/")
    missing = outsider_client.get("/c/conv_doesnotexist/")
    assert foreign.status_code == missing.status_code == 404

    def normal(html: str, public_id: str) -> str:
        return re.sub(r"[A-Za-z0-9]{64}", "TOKEN", html.replace(public_id, "X"))

    assert normal(foreign.content.decode(), conversation.public_id) == normal(
        missing.content.decode(), "conv_doesnotexist"
    )


@pytest.mark.parametrize(("method", "url", "data"), CONVERSATION_VIEWS)
def test_anonymous_is_sent_to_log_in(client, conversation, method, url, data):
    before = snapshot(conversation)
    response = getattr(client, method)(fill(url, conversation), data)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert snapshot(conversation) == before


@pytest.mark.parametrize(("method", "url", "data"), CONVERSATION_VIEWS)
def test_anonymous_htmx_request_redirects_the_whole_page(client, conversation, method, url, data):
    response = getattr(client, method)(fill(url, conversation), data, headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", APP_PAGES)
def test_app_pages_need_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", APP_PAGES)
def test_app_pages_open_for_the_owner(owner_client, conversation, url):
    assert owner_client.get(url).status_code == 200


@pytest.mark.parametrize(("method", "url", "data"), CONVERSATION_VIEWS)
def test_owner_may_use_every_view(owner_client, conversation, method, url, data):
    response = getattr(owner_client, method)(fill(url, conversation), data, headers=HTMX)
    assert response.status_code in (200, 204), response.content[:500]


@pytest.mark.parametrize(
    ("method", "url"),
    [("get", "/c/{conv}/stop/"), ("get", "/c/{conv}/pin/"), ("put", "/c/{conv}/rename/")],
)
def test_wrong_method_is_405(owner_client, conversation, method, url):
    assert getattr(owner_client, method)(fill(url, conversation)).status_code == 405
