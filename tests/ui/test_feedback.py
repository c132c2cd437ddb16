"""Feedback on replies: the service, and the toolbar's thumbs and comment (HTMX and no-JS)."""

import re

import pytest
from django.core.exceptions import ValidationError

from conversations.models import FEEDBACK_COMMENT_MAX_CHARS, Message
from conversations.services import FeedbackRefused, message_feedback_set
from tests.factories import ConversationFactory
from tests.ui.conftest import HTMX, in_progress_turn, make_thread

pytestmark = pytest.mark.django_db


def stored(message: Message) -> tuple:
    row = Message.objects.get(pk=message.pk)
    return row.feedback_rating, row.feedback_comment, row.feedback_at is not None


def feedback_part(html: str, message: Message) -> str:
    """The feedback element of one message (up to the end of its <div>)."""
    start = html.index(f'id="message-{message.public_id}-feedback"')
    return html[start : html.index("</div>", start)]


def pressed(part: str, name: str) -> bool:
    button = re.search(
        rf'<button[^>]*aria-pressed="(\w+)"[^>]*>(?:(?!</button>).)*{name}', part, re.S
    )
    assert button, f"no {name} button"
    return button.group(1) == "true"


# --- Service ---------------------------------------------------------------------------------


def test_rate_change_and_clear(owner, reply):
    message_feedback_set(user=owner, message=reply, rating="up")
    assert stored(reply) == ("up", "", True)
    message_feedback_set(user=owner, message=reply, rating="down", comment="  Wrong date.  ")
    assert stored(reply) == ("down", "Wrong date.", True)
    message_feedback_set(user=owner, message=reply, rating=None, comment="ignored")
    assert stored(reply) == ("", "", False)


def test_rating_does_not_touch_the_message_or_the_conversation(owner, conversation, reply):
    before = Message.objects.get(pk=reply.pk)
    updated = conversation.updated_at
    message_feedback_set(user=owner, message=reply, rating="up")
    after = Message.objects.get(pk=reply.pk)
    assert (after.updated_at, after.content, after.status) == (
        before.updated_at,
        before.content,
        before.status,
    )
    conversation.refresh_from_db()
    assert conversation.updated_at == updated


@pytest.mark.parametrize("rating", ["good", "UP", "1"])
def test_a_bad_rating_is_refused(owner, reply, rating):
    with pytest.raises(FeedbackRefused) as caught:
        message_feedback_set(user=owner, message=reply, rating=rating)
    assert caught.value.param == "rating"
    assert stored(reply) == ("", "", False)


def test_only_a_finished_reply_can_be_rated(owner, conversation, user_message):
    with pytest.raises(FeedbackRefused, match="finished reply"):
        message_feedback_set(user=owner, message=user_message, rating="up")
    running = in_progress_turn(conversation)
    with pytest.raises(FeedbackRefused, match="finished reply"):
        message_feedback_set(user=owner, message=running, rating="up")


def test_someone_elses_reply_is_refused(outsider, reply):
    with pytest.raises(FeedbackRefused):
        message_feedback_set(user=outsider, message=reply, rating="up")
    assert stored(reply) == ("", "", False)


def test_comment_is_clean_bounded_text(owner, reply):
    with pytest.raises(ValidationError, match="not allowed"):
        message_feedback_set(user=owner, message=reply, rating="down", comment="bad\x00")
    with pytest.raises(ValidationError, match="2,000"):
        message_feedback_set(
            user=owner, message=reply, rating="down", comment="x" * (FEEDBACK_COMMENT_MAX_CHARS + 1)
        )
    assert stored(reply) == ("", "", False)


def test_a_locked_conversation_can_still_be_rated(owner, conversation, reply):
    conversation.status = "locked"
    conversation.save(update_fields=["status"])
    message_feedback_set(user=owner, message=reply, rating="up")
    assert stored(reply)[0] == "up"


# --- Browser ---------------------------------------------------------------------------------


def test_toolbar_shows_thumbs_on_replies_only(owner_client, conversation, reply, user_message):
    html = owner_client.get(f"/c/{conversation.public_id}/").content.decode()
    part = feedback_part(html, reply)
    assert not pressed(part, "Good response")
    assert not pressed(part, "Bad response")
    assert "Add a comment" not in part  # a comment comes with a rating
    assert f'id="message-{user_message.public_id}-feedback"' not in html


def test_htmx_rating_swaps_only_the_feedback_part(owner_client, reply):
    response = owner_client.post(f"/m/{reply.public_id}/feedback/", {"rating": "up"}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<div id="message-{reply.public_id}-feedback"')
    assert "<article" not in html
    assert pressed(html, "Good response") and not pressed(html, "Bad response")
    # The pressed thumb now clears; the other one switches.
    assert re.search(r'name="rating" value=""[^>]*aria-pressed="true"', html)
    assert 'value="down"' in html
    assert "Add a comment" in html
    assert stored(reply) == ("up", "", True)


def test_changing_the_rating_keeps_the_comment(owner_client, reply):
    url = f"/m/{reply.public_id}/feedback/"
    owner_client.post(url, {"rating": "up", "comment": "Nice list."}, headers=HTMX)
    html = owner_client.post(url, {"rating": "down"}, headers=HTMX).content.decode()
    assert stored(reply) == ("down", "Nice list.", True)
    assert "Edit comment" in html and ">Nice list.</textarea>" in html
    owner_client.post(url, {"rating": ""}, headers=HTMX)
    assert stored(reply) == ("", "", False)


def test_rating_without_javascript_redirects_back_and_the_page_shows_it(
    owner_client, conversation, reply
):
    response = owner_client.post(
        f"/m/{reply.public_id}/feedback/", {"rating": "down", "comment": "Too long."}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/c/{conversation.public_id}/#message-{reply.public_id}"
    html = owner_client.get(response["Location"]).content.decode()
    part = feedback_part(html, reply)
    assert pressed(part, "Bad response") and not pressed(part, "Good response")
    assert ">Too long.</textarea>" in html


def test_a_refused_rating_shows_why(owner_client, conversation, reply, user_message):
    response = owner_client.post(f"/m/{reply.public_id}/feedback/", {"rating": "meh"}, headers=HTMX)
    assert response.status_code == 400
    assert (
        'role="alert">The rating is &quot;up&quot; or &quot;down&quot;.'
        in response.content.decode()
    )
    plain = owner_client.post(f"/m/{user_message.public_id}/feedback/", {"rating": "up"})
    assert plain.status_code == 302
    page = owner_client.get(plain["Location"]).content.decode()
    assert "Only a finished reply of the assistant can be rated." in page


def test_someone_elses_reply_is_404(outsider_client, reply):
    response = outsider_client.post(f"/m/{reply.public_id}/feedback/", {"rating": "up"})
    assert response.status_code == 404
    assert stored(reply) == ("", "", False)


def test_browser_rating_counts_against_the_write_limit(
    owner_client, reply, settings, one_rate_window
):
    settings.API_WRITE_RATE = "1/min"
    url = f"/m/{reply.public_id}/feedback/"
    assert owner_client.post(url, {"rating": "up"}, headers=HTMX).status_code == 200
    refused = owner_client.post(url, {"rating": "down"}, headers=HTMX)
    assert refused.status_code == 429
    assert stored(reply)[0] == "up"


@pytest.mark.parametrize("rated", [False, True])
def test_rated_replies_keep_the_page_query_count(
    owner_client, owner, django_assert_num_queries, rated
):
    conv = ConversationFactory(owner=owner)
    rows = make_thread(conv, 40)
    if rated:
        for reply in rows[1::2]:
            message_feedback_set(user=owner, message=reply, rating="up", comment="ok")
    # Expect 7 queries: session, user, conversation, branch path (one recursive query; the
    # feedback is on each message row), sibling positions, pinned list, sidebar page.
    with django_assert_num_queries(7):
        html = owner_client.get(f"/c/{conv.public_id}/").content.decode()
    assert html.count('aria-pressed="true"') == (20 if rated else 0)
