"""The "Continue" button: shown on the last reply that ended early, posts with or without JS.

The test transaction never commits, so no generation starts: the reply stays `in_progress`.
"""

import pytest
from django.core.cache import cache
from django.test import Client

from conversations.models import Conversation, Message
from tests.factories import ConversationFactory
from tests.ui.conftest import HTMX, make_thread

pytestmark = pytest.mark.django_db

CONTINUE = 'class="continue"'


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def stopped(reply):
    Message.objects.filter(pk=reply.pk).update(
        status=Message.Status.STOPPED, status_reason="Stopped by user."
    )
    reply.refresh_from_db()
    return reply


def page(client, conversation) -> str:
    return client.get(f"/c/{conversation.public_id}/").content.decode()


def test_the_button_shows_only_on_the_last_reply_that_ended_early(
    owner_client, conversation, stopped
):
    html = page(owner_client, conversation)
    assert html.count(CONTINUE) == 1
    assert f'action="/m/{stopped.public_id}/continue/"' in html
    # A completed reply, or a stopped one that is no longer the leaf, has none.
    Message.objects.filter(pk=stopped.pk).update(status=Message.Status.COMPLETED)
    assert CONTINUE not in page(owner_client, conversation)
    Message.objects.filter(pk=stopped.pk).update(status=Message.Status.STOPPED)
    older = Message.objects.get(pk=stopped.parent.parent_id)
    Conversation.objects.filter(pk=conversation.pk).update(current_message=older)
    assert CONTINUE not in page(owner_client, conversation)


def test_continue_with_htmx_returns_the_thread_with_the_reply_running(
    owner_client, conversation, stopped
):
    response = owner_client.post(f"/m/{stopped.public_id}/continue/", headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="message-list"')
    assert f'id="message-{stopped.public_id}-blocks"' in html
    assert stopped.content in html
    stopped.refresh_from_db()
    assert stopped.status == Message.Status.IN_PROGRESS
    assert conversation.messages.count() == 4


def test_continue_without_javascript_redirects_back(owner_client, conversation, stopped):
    response = owner_client.post(f"/m/{stopped.public_id}/continue/")
    assert response.status_code == 302
    assert response["Location"] == f"/c/{conversation.public_id}/"
    stopped.refresh_from_db()
    assert stopped.status == Message.Status.IN_PROGRESS


def test_a_completed_reply_is_refused_in_the_composer(owner_client, reply):
    response = owner_client.post(f"/m/{reply.public_id}/continue/", headers=HTMX)
    assert response.status_code == 409
    assert response["HX-Retarget"] == "#composer"
    assert "can be continued" in response.content.decode()
    reply.refresh_from_db()
    assert reply.status == Message.Status.COMPLETED


def test_a_locked_conversation_refuses(owner_client, conversation, stopped):
    Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.LOCKED)
    response = owner_client.post(f"/m/{stopped.public_id}/continue/", headers=HTMX)
    assert response.status_code == 403
    stopped.refresh_from_db()
    assert stopped.status == Message.Status.STOPPED


def test_continue_counts_against_the_generation_limit(
    owner_client, owner, settings, one_rate_window
):
    settings.GENERATION_RATE = "1/min"
    replies = []
    for _ in range(2):
        conversation = ConversationFactory(owner=owner)
        reply = make_thread(conversation, 2)[-1]
        Message.objects.filter(pk=reply.pk).update(status=Message.Status.INCOMPLETE)
        replies.append(reply)
    statuses = [
        owner_client.post(f"/m/{reply.public_id}/continue/", headers=HTMX).status_code
        for reply in replies
    ]
    assert statuses == [200, 429]
    assert Message.objects.get(pk=replies[1].pk).status == Message.Status.INCOMPLETE


def test_someone_elses_reply_is_404(outsider_client, stopped):
    assert outsider_client.post(f"/m/{stopped.public_id}/continue/").status_code == 404
    stopped.refresh_from_db()
    assert stopped.status == Message.Status.STOPPED


def test_anonymous_is_sent_to_log_in_and_a_get_is_405(owner_client, stopped):
    response = Client().post(f"/m/{stopped.public_id}/continue/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert owner_client.get(f"/m/{stopped.public_id}/continue/").status_code == 405
    stopped.refresh_from_db()
    assert stopped.status == Message.Status.STOPPED
