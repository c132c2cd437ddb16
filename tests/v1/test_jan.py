"""Each call of the Jan Server conversation guide, with the guide's request body."""

import json

import pytest
from django.test import Client

from conversations.models import Conversation, Message
from projects.models import Project
from sharing.models import ShareLink
from tests.factories import ConversationFactory, ProjectFactory
from tests.v1.conftest import append_turns


def call(client, bearer, method, path, body=None):
    kwargs = (
        {"content_type": "application/json", "data": json.dumps(body)} if body is not None else {}
    )
    return getattr(client, method)(path, **kwargs, **bearer)


@pytest.fixture
def csrf_client():
    # The real browser-less client: CSRF checks on, as curl meets them.
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def project(owner):
    return ProjectFactory(owner=owner)


@pytest.fixture
def conversation(owner):
    conversation = ConversationFactory(owner=owner)
    append_turns(conversation, 2)
    conversation.refresh_from_db()
    return conversation


def test_create_conversation_with_project(csrf_client, bearer, project):
    body = {"title": "Project Planning", "project_id": project.public_id}
    data = call(csrf_client, bearer, "post", "/v1/conversations", body).json()
    assert data["title"] == "Project Planning"
    assert data["project_id"] == project.public_id
    assert data["id"].startswith("conv")
    assert {"created_at", "updated_at", "created_at_iso"} <= set(data)
    assert data["created_at_iso"].endswith("Z")


def test_create_conversation_with_foreign_project_is_404_and_stores_nothing(
    csrf_client, bearer, outsider
):
    foreign = ProjectFactory(owner=outsider)
    body = {"title": "x", "project_id": foreign.public_id}
    response = call(csrf_client, bearer, "post", "/v1/conversations", body)
    assert response.status_code == 404
    assert response.json()["error"]["type"]
    assert not Conversation.objects.filter(title="x").exists()


def test_list_conversations_filters_by_project_with_item_count_and_next_after(
    csrf_client, bearer, owner, project
):
    inside = [ConversationFactory(owner=owner, project=project) for _ in range(3)]
    append_turns(inside[0], 2)
    ConversationFactory(owner=owner)
    url = f"/v1/conversations?limit=2&project_id={project.public_id}"
    first = csrf_client.get(url, **bearer).json()
    assert len(first["data"]) == 2
    assert {"id", "title", "created_at", "item_count"} <= set(first["data"][0])
    assert first["next_after"] == first["data"][-1]["id"]
    second = csrf_client.get(f"{url}&after={first['next_after']}", **bearer).json()
    assert second["next_after"] is None
    ids = {c["id"] for c in first["data"] + second["data"]}
    assert ids == {c.public_id for c in inside}
    counts = {c["id"]: c["item_count"] for c in first["data"] + second["data"]}
    assert counts[inside[0].public_id] == 2


def test_project_conversations(csrf_client, bearer, owner, project):
    inside = ConversationFactory(owner=owner, project=project)
    ConversationFactory(owner=owner)
    url = f"/v1/projects/{project.public_id}/conversations"
    data = csrf_client.get(url, **bearer).json()
    assert [c["id"] for c in data["data"]] == [inside.public_id]


def test_get_conversation_has_items(csrf_client, bearer, conversation):
    data = csrf_client.get(f"/v1/conversations/{conversation.public_id}", **bearer).json()
    assert data["id"] == conversation.public_id and data["title"] == conversation.title
    assert [i["role"] for i in data["items"]] == ["user", "assistant"]
    item = data["items"][0]
    assert {"id", "role", "content", "created_at"} <= set(item)
    assert item["content"] == "message 0"
    assert data["items_has_more"] is False


def test_get_conversation_items_page(csrf_client, bearer, owner):
    conversation = ConversationFactory(owner=owner)
    append_turns(conversation, 7)
    url = f"/v1/conversations/{conversation.public_id}?items_limit=3"
    data = csrf_client.get(url, **bearer).json()
    assert [i["content"] for i in data["items"]] == ["message 4", "message 5", "message 6"]
    assert data["items_has_more"] is True
    bad = csrf_client.get(f"/v1/conversations/{conversation.public_id}?items_limit=x", **bearer)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "items_limit"


def test_patch_title_and_project(csrf_client, bearer, conversation, project):
    url = f"/v1/conversations/{conversation.public_id}"
    data = call(csrf_client, bearer, "patch", url, {"title": "Updated Project Title"}).json()
    assert data["title"] == "Updated Project Title"
    data = call(csrf_client, bearer, "patch", url, {"project_id": project.public_id}).json()
    assert data["project_id"] == project.public_id
    conversation.refresh_from_db()
    assert conversation.project_id == project.pk and conversation.title == "Updated Project Title"


@pytest.mark.parametrize(
    "body,param",
    [({"title": ""}, "title"), ({"title": 3}, "title"), ({"colour": "red"}, "colour")],
)
def test_patch_bad_input_is_400(csrf_client, bearer, conversation, body, param):
    url = f"/v1/conversations/{conversation.public_id}"
    response = call(csrf_client, bearer, "patch", url, body)
    assert response.status_code == 400 and response.json()["error"]["param"] == param
    conversation.refresh_from_db()
    assert conversation.title.startswith("Conversation")


def test_post_item_the_guide_way(csrf_client, bearer, conversation):
    url = f"/v1/conversations/{conversation.public_id}/items"
    body = {"role": "user", "content": "What are the next steps?", "call_id": "ext-1"}
    data = call(csrf_client, bearer, "post", url, body).json()
    assert data["role"] == "user" and data["content"] == "What are the next steps?"
    assert data["id"].startswith("msg") and data["created_at"].endswith("Z")
    assert data["call_id"] == "ext-1"
    assert Message.objects.get(public_id=data["id"]).content == "What are the next steps?"


@pytest.mark.parametrize(
    "body,param",
    [
        ({"role": "robot", "content": "x"}, "items[0].role"),
        ({"role": "user", "content": ""}, "items[0].content"),
        ({"role": "user", "content": "x", "call_id": 5}, "call_id"),
    ],
)
def test_post_item_bad_input_is_400(csrf_client, bearer, conversation, body, param):
    url = f"/v1/conversations/{conversation.public_id}/items"
    response = call(csrf_client, bearer, "post", url, body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert conversation.messages.count() == 2


def test_edit_and_regenerate(csrf_client, bearer, conversation):
    user, reply = conversation.messages.order_by("created_at", "id")
    base = f"/v1/conversations/{conversation.public_id}/items"
    response = call(
        csrf_client,
        bearer,
        "put",
        f"{base}/{user.public_id}/edit",
        {"content": "Actually, let me rephrase that..."},
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["content"] == "Actually, let me rephrase that..." and data["role"] == "user"
    assert data["reply"]["role"] == "assistant"
    response = call(
        csrf_client, bearer, "post", f"{base}/{reply.public_id}/regenerate", {"model": None}
    )
    # Only one reply generates at a time: the edit's may still be running.
    assert response.status_code in (200, 409), response.content
    assert response["Content-Type"].startswith("application/json")


def test_edit_bad_input_is_400(csrf_client, bearer, conversation):
    user, reply = conversation.messages.order_by("created_at", "id")
    base = f"/v1/conversations/{conversation.public_id}/items"
    empty = call(csrf_client, bearer, "put", f"{base}/{user.public_id}/edit", {"content": ""})
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "content"
    of_reply = call(csrf_client, bearer, "put", f"{base}/{reply.public_id}/edit", {"content": "x"})
    assert of_reply.status_code == 400
    model = call(csrf_client, bearer, "post", f"{base}/{reply.public_id}/regenerate", {"model": 1})
    assert model.status_code == 400 and model.json()["error"]["param"] == "model"
    unknown = call(
        csrf_client, bearer, "post", f"{base}/{reply.public_id}/regenerate", {"model": "nope"}
    )
    assert unknown.status_code == 400
    assert conversation.messages.count() == 2


def test_bulk_delete(csrf_client, bearer, owner, outsider):
    mine = [ConversationFactory(owner=owner) for _ in range(3)]
    theirs = ConversationFactory(owner=outsider)
    ids = [c.public_id for c in mine] + [theirs.public_id]
    data = call(
        csrf_client, bearer, "post", "/v1/conversations/bulk-delete", {"conversation_ids": ids}
    ).json()
    assert data["deleted_count"] == 3 and data["failed_count"] == 1
    assert data["failed_ids"] == [theirs.public_id]
    assert Conversation.objects.filter(pk=theirs.pk).exists()
    assert not Conversation.objects.filter(owner=owner).exists()


def test_bulk_delete_ids_that_cannot_exist_are_reported_not_queried(csrf_client, bearer, owner):
    # Found by schemathesis on PostgreSQL: a NUL in an id reached the query and answered 500.
    mine = ConversationFactory(owner=owner)
    ids = [mine.public_id, "conv_\x00", "f\x00\xe8", "=" * 300]
    response = call(
        csrf_client, bearer, "post", "/v1/conversations/bulk-delete", {"conversation_ids": ids}
    )
    assert response.status_code == 200
    data = response.json()
    assert data["deleted_count"] == 1
    assert data["failed_ids"] == ids[1:]


@pytest.mark.parametrize("ids", [[], "conv_1", [1], [f"conv_{i}" for i in range(101)]])
def test_bulk_delete_bad_input_is_400(csrf_client, bearer, owner, ids):
    kept = ConversationFactory(owner=owner)
    response = call(
        csrf_client, bearer, "post", "/v1/conversations/bulk-delete", {"conversation_ids": ids}
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "conversation_ids"
    assert Conversation.objects.filter(pk=kept.pk).exists()


def test_share_conversation_and_revoke(csrf_client, bearer, conversation):
    url = f"/v1/conversations/{conversation.public_id}/share"
    data = call(csrf_client, bearer, "post", url, {"expires_in": 86400, "read_only": True}).json()
    assert {"share_id", "url", "expires_at", "read_only"} <= set(data)
    assert data["read_only"] is True and data["expires_at"].endswith("Z")
    assert data["url"].startswith("http") and data["share_id"] in data["url"]
    assert Client().get(data["url"]).status_code == 200
    revoke = call(csrf_client, bearer, "delete", f"{url}/{data['share_id']}")
    assert revoke.status_code == 200 and revoke.json()["deleted"] is True
    assert ShareLink.objects.get(token=data["share_id"]).revoked_at is not None
    assert call(csrf_client, bearer, "delete", f"{url}/nope").status_code == 404


def test_share_message(csrf_client, bearer, conversation):
    reply = conversation.messages.get(role="assistant")
    url = f"/v1/conversations/{conversation.public_id}/items/{reply.public_id}/share"
    body = {"expires_in": 3600, "include_context": True}
    data = call(csrf_client, bearer, "post", url, body).json()
    assert {"share_id", "url", "expires_at"} <= set(data)
    assert ShareLink.objects.get(token=data["share_id"]).message_id == reply.pk


@pytest.mark.parametrize(
    "body,param",
    [
        ({"expires_in": -1}, "expires_in"),
        ({"expires_in": "soon"}, "expires_in"),
        ({"read_only": False}, "read_only"),
        ({"read_only": "yes"}, "read_only"),
    ],
)
def test_share_bad_input_is_400(csrf_client, bearer, conversation, body, param):
    url = f"/v1/conversations/{conversation.public_id}/share"
    response = call(csrf_client, bearer, "post", url, body)
    assert response.status_code == 400 and response.json()["error"]["param"] == param
    assert not ShareLink.objects.exists()


def test_share_of_foreign_conversation_is_404(csrf_client, outsider_bearer, conversation):
    url = f"/v1/conversations/{conversation.public_id}/share"
    assert call(csrf_client, outsider_bearer, "post", url, {"expires_in": 60}).status_code == 404


def test_create_and_list_projects(csrf_client, bearer):
    body = {"title": "My AI Research", "description": "Conversations about machine learning"}
    data = call(csrf_client, bearer, "post", "/v1/projects", body).json()
    assert data["title"] == "My AI Research" and data["id"] and data["created_at"]
    listed = csrf_client.get("/v1/projects", **bearer).json()
    assert [p["id"] for p in listed["data"]] == [data["id"]]


@pytest.mark.parametrize(
    "body,param",
    [({}, "title"), ({"title": ""}, "title"), ({"title": "x", "description": 3}, "description")],
)
def test_create_project_bad_input_is_400(csrf_client, bearer, body, param):
    response = call(csrf_client, bearer, "post", "/v1/projects", body)
    assert response.status_code == 400 and response.json()["error"]["param"] == param
    assert not Project.objects.exists()


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_unknown_path_write_is_json_404_not_csrf_page(csrf_client, bearer, method):
    response = call(csrf_client, bearer, method, "/v1/no/such/thing", {"a": 1})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_wrong_method_is_json_405(csrf_client, bearer):
    response = call(csrf_client, bearer, "put", "/v1/conversations", {"a": 1})
    assert response.status_code == 405
    assert "error" in response.json()
