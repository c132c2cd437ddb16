"""/api feedback on replies: PUT and DELETE /api/messages/{id}/feedback/, shown on every message."""

import pytest

from conversations.models import Message
from tests.api.conftest import in_progress_row

pytestmark = pytest.mark.django_db


def url(message) -> str:
    return f"/api/messages/{message.public_id}/feedback/"


def test_put_rates_and_the_message_shows_it(api, world):
    reply = world["reply"]
    response = api.request("put", url(reply), {"rating": "down", "comment": "Wrong tram."})
    assert response.status_code == 200
    feedback = response.json()["feedback"]
    assert feedback["rating"] == "down" and feedback["comment"] == "Wrong tram."
    stored = Message.objects.get(pk=reply.pk)
    assert feedback["updated_at"] == stored.feedback_at.isoformat().replace("+00:00", "Z")
    assert api.get(f"/api/messages/{reply.public_id}/").json()["feedback"] == feedback
    thread = api.get(f"/api/conversations/{world['conversation'].public_id}/").json()["messages"]
    assert [m["feedback"] for m in thread] == [None, feedback]


def test_put_replaces_the_comment_and_delete_clears(api, world):
    reply = world["reply"]
    api.request("put", url(reply), {"rating": "down", "comment": "Wrong tram."})
    again = api.request("put", url(reply), {"rating": "up"})
    assert again.json()["feedback"]["comment"] == ""
    assert api.delete(url(reply)).status_code == 204
    assert api.get(f"/api/messages/{reply.public_id}/").json()["feedback"] is None
    assert Message.objects.filter(pk=reply.pk, feedback_rating="", feedback_at=None).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rating": "meh"}, "rating"),
        ({}, "rating"),
        ({"rating": "up", "comment": "x" * 2001}, "comment"),
        ({"rating": "up", "comment": "nul\u0000"}, "comment"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, world, body, field):
    response = api.request("put", url(world["reply"]), body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert field in error.get("fields", {}) or error.get("param") == field, error
    assert Message.objects.get(pk=world["reply"].pk).feedback_rating == ""


def test_a_user_message_or_a_running_reply_cannot_be_rated(api, world):
    response = api.request("put", url(world["question"]), {"rating": "up"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_feedback"
    running = in_progress_row(world["conversation"])
    assert api.request("put", url(running), {"rating": "up"}).status_code == 400
    assert api.delete(url(running)).status_code == 400


def test_outsider_gets_404_and_changes_nothing(outsider_api, world):
    reply = world["reply"]
    assert outsider_api.request("put", url(reply), {"rating": "up"}).status_code == 404
    assert outsider_api.delete(url(reply)).status_code == 404
    assert Message.objects.get(pk=reply.pk).feedback_rating == ""


def test_feedback_counts_as_a_write(api, world, settings, one_rate_window):
    settings.API_WRITE_RATE = "1/min"
    assert api.request("put", url(world["reply"]), {"rating": "up"}).status_code == 200
    assert api.request("put", url(world["reply"]), {"rating": "down"}).status_code == 429
