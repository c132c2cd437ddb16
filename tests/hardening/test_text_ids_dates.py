"""NUL and other invalid characters are a 400 naming the field on every door; ids that
cannot exist are a 404 before any query; dates at the edge are field errors."""

import json

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from conversations.models import Conversation
from conversations.selectors import conversation_get_for_user, message_get_for_user
from projects.selectors import project_get_for_user
from sharing.selectors import share_get_for_user, share_get_live
from tests.factories import ConversationFactory
from tests.ui.conftest import HTMX, htmx_from

NUL = "a\x00b"


def _post_json(client, path, body, bearer, method="post"):
    return getattr(client, method)(
        path, json.dumps(body), content_type="application/json", **bearer
    )


@pytest.mark.parametrize(
    "body, field",
    [
        ({"title": NUL}, "title"),
        ({"title": "ok", "metadata": {NUL: "v"}}, "metadata"),
        ({"title": "ok", "metadata": {"k": NUL}}, "metadata"),
    ],
)
def test_api_nul_is_400_naming_the_field(client, bearer, body, field):
    response = _post_json(client, "/api/conversations/", body, bearer)
    assert response.status_code == 400
    assert field in response.text
    assert not Conversation.objects.exists()


@pytest.mark.parametrize(
    "body, param",
    [
        ({"metadata": {NUL: "v"}}, "metadata"),
        ({"metadata": {"k": NUL}}, "metadata"),
        ({"items": [{"type": "message", "role": "user", "content": NUL}]}, "content"),
    ],
)
def test_v1_nul_is_400_openai_shape(client, bearer, body, param):
    response = _post_json(client, "/v1/conversations", body, bearer)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert param in (error["param"] or "") + error["message"]


def test_project_nul_is_400(client, bearer):
    response = _post_json(client, "/api/projects/", {"title": NUL}, bearer)
    assert response.status_code == 400
    assert "title" in response.text


def test_browser_send_nul_is_a_form_error(owner_client):
    response = owner_client.post("/send/", {"content": NUL, "model": "demo"})
    assert response.status_code < 500
    assert response.status_code >= 400 or "not allowed" in response.text
    assert not Conversation.objects.exists()


def test_browser_rename_nul_is_a_form_error(owner_client, owner):
    conversation = ConversationFactory(owner=owner, title="Trip")
    response = owner_client.post(
        f"/c/{conversation.public_id}/rename/",
        {"title": NUL},
        headers=htmx_from(f"/c/{conversation.public_id}/"),
    )
    assert response.status_code < 500
    conversation.refresh_from_db()
    assert conversation.title == "Trip"


def test_search_nul_is_a_form_error(owner_client):
    response = owner_client.get("/search/", {"q": NUL})
    assert response.status_code == 200
    assert "not allowed" in response.text


@pytest.mark.parametrize("path", ["/s/a%00b/", "/c/conv_%00/", "/c/conv_%00/messages/"])
def test_malformed_ids_in_the_browser_are_404(owner_client, path):
    assert owner_client.get(path).status_code == 404


def test_malformed_id_on_api_is_404(client, bearer):
    assert client.get("/api/conversations/%00%ff/", **bearer).status_code == 404


@pytest.mark.parametrize(
    "getter, kwargs",
    [
        (conversation_get_for_user, {"public_id": "conv_\x00"}),
        (message_get_for_user, {"public_id": "msg_zz"}),
        (message_get_for_user, {"public_id": "msg_" + "0" * 48, "conversation_public_id": "x"}),
        (project_get_for_user, {"public_id": "proj_\x00"}),
        (share_get_for_user, {"token": "a\x00b"}),
    ],
)
def test_getters_refuse_malformed_ids_without_a_query(owner, getter, kwargs):
    with CaptureQueriesContext(connection) as queries, pytest.raises(Http404):
        getter(user=owner, **kwargs)
    assert len(queries) == 0


@pytest.mark.django_db
def test_share_get_live_refuses_malformed_token_without_a_query():
    with CaptureQueriesContext(connection) as queries, pytest.raises(Http404):
        share_get_live(token="a\x00b")
    assert len(queries) == 0


@pytest.mark.parametrize("field", ["to", "from"])
def test_search_edge_dates_are_field_errors(owner_client, field):
    response = owner_client.get("/search/", {"q": "a", field: "9999-12-31"})
    assert response.status_code == 200
    assert "Pick a day between" in response.text


def test_share_form_edge_date_is_a_field_error(owner_client, owner):
    conversation = ConversationFactory(owner=owner, title="Trip")
    response = owner_client.post(
        f"/c/{conversation.public_id}/share/",
        {"expiry": "date", "expires_on": "9999-12-31"},
        headers=HTMX,
    )
    assert response.status_code == 422
    assert "Pick a day up to" in response.text
