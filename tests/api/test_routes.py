"""The owner / outsider / anonymous matrix over every /api route."""

import pytest

# (method, path template, body, status for the owner). Placeholders name objects of `world`.
OBJECT_ROUTES = [
    ("get", "/api/conversations/{conversation}/", None, 200),
    ("patch", "/api/conversations/{conversation}/", {"title": "Porto"}, 200),
    ("delete", "/api/conversations/{conversation}/", None, 204),
    ("post", "/api/conversations/{conversation}/messages/", {"content": "Hi"}, 202),
    ("post", "/api/conversations/{conversation}/stop/", None, 200),
    ("post", "/api/conversations/{conversation}/shares/", {}, 201),
    ("get", "/api/messages/{reply}/", None, 200),
    ("delete", "/api/messages/{reply}/", None, 204),
    ("get", "/api/messages/{reply}/events/", None, 200),
    ("post", "/api/messages/{question}/edit/", {"content": "What else?"}, 202),
    ("post", "/api/messages/{reply}/regenerate/", {}, 202),
    # The world's reply is completed: nothing to continue (tests/api/test_continue.py: 202).
    ("post", "/api/messages/{reply}/continue/", None, 409),
    ("get", "/api/messages/{reply}/siblings/", None, 200),
    ("post", "/api/messages/{reply}/branch/", None, 201),
    ("put", "/api/messages/{reply}/feedback/", {"rating": "up"}, 200),
    ("delete", "/api/messages/{reply}/feedback/", None, 204),
    ("get", "/api/projects/{project}/", None, 200),
    ("patch", "/api/projects/{project}/", {"title": "Trips"}, 200),
    ("delete", "/api/projects/{project}/", None, 204),
    ("get", "/api/projects/{project}/conversations/", None, 200),
    ("delete", "/api/shares/{share}/", None, 204),
]
COLLECTION_ROUTES = [
    ("get", "/api/conversations/", None, 200),
    ("post", "/api/conversations/", {"title": "New"}, 201),
    ("post", "/api/conversations/bulk-delete/", {"ids": ["conv_x"]}, 200),
    ("get", "/api/projects/", None, 200),
    ("post", "/api/projects/", {"title": "New"}, 201),
    ("get", "/api/shares/", None, 200),
]
MISSING = {
    "conversation": "conv_missing",
    "reply": "msg_missing",
    "question": "msg_missing",
    "project": "proj_missing",
    "share": "missing-token",
}


def fill(template: str, world: dict, missing: bool = False) -> str:
    ids = {
        "conversation": world["conversation"].public_id,
        "reply": world["reply"].public_id,
        "question": world["question"].public_id,
        "project": world["project"].public_id,
        "share": world["share"].token,
    }
    return template.format(**(MISSING if missing else ids))


def route_id(route):
    return f"{route[0].upper()} {route[1]}"


@pytest.mark.parametrize("route", OBJECT_ROUTES + COLLECTION_ROUTES, ids=route_id)
def test_anonymous_gets_401_with_a_bearer_challenge(route, world, anonymous_api):
    method, template, body, _ = route
    response = anonymous_api.request(method, fill(template, world), body)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("route", OBJECT_ROUTES + COLLECTION_ROUTES, ids=route_id)
def test_revoked_key_gets_401(route, world, owner, api):
    from accounts.models import ApiKey

    ApiKey.objects.filter(user=owner).update(revoked_at="2026-01-01T00:00:00Z")
    method, template, body, _ = route
    response = api.request(method, fill(template, world), body)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid or revoked API key."


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=route_id)
def test_outsider_gets_the_same_404_as_for_a_missing_object(route, world, api, outsider_api):
    method, template, body, _ = route
    foreign = outsider_api.request(method, fill(template, world), body)
    missing = api.request(method, fill(template, world, missing=True), body)
    assert foreign.status_code == missing.status_code == 404
    assert (
        foreign.json()
        == missing.json()
        == {"error": {"code": "not_found", "message": "Not found."}}
    )


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=route_id)
def test_outsider_changes_nothing(route, world, outsider_api):
    method, template, body, _ = route
    outsider_api.request(method, fill(template, world), body)
    conversation = world["conversation"]
    conversation.refresh_from_db()
    world["project"].refresh_from_db()
    world["share"].refresh_from_db()
    assert conversation.title == "Lisbon"
    assert conversation.message_count == 2
    assert world["project"].title == "Travel"
    assert world["share"].revoked_at is None


@pytest.mark.parametrize("route", OBJECT_ROUTES + COLLECTION_ROUTES, ids=route_id)
def test_owner_succeeds_with_a_key(route, world, api):
    method, template, body, expected = route
    response = api.request(method, fill(template, world), body)
    assert response.status_code == expected, response.content


@pytest.mark.parametrize("route", OBJECT_ROUTES + COLLECTION_ROUTES, ids=route_id)
def test_owner_succeeds_with_a_session(route, world, session_api):
    method, template, body, expected = route
    response = session_api.request(method, fill(template, world), body)
    assert response.status_code == expected, response.content
