"""Every /v1 route with the owner, another user, anonymous and a bad key; input errors."""

import json

import pytest

from conversations.models import Conversation, Message
from tests.factories import ConversationFactory, MessageFactory, deep_conversation
from tests.v1.conftest import append_turns

# (name, method, path template, JSON body, owner's expected status)
ROUTES = [
    ("list conversations", "get", "/v1/conversations", None, 200),
    ("create conversation", "post", "/v1/conversations", {"metadata": {"a": "b"}}, 200),
    ("retrieve conversation", "get", "/v1/conversations/{conv}", None, 200),
    ("update conversation", "post", "/v1/conversations/{conv}", {"metadata": {}}, 200),
    ("delete conversation", "delete", "/v1/conversations/{conv}", None, 200),
    ("list items", "get", "/v1/conversations/{conv}/items", None, 200),
    (
        "create items",
        "post",
        "/v1/conversations/{conv}/items",
        {"items": [{"role": "user", "content": "hi"}]},
        200,
    ),
    ("retrieve item", "get", "/v1/conversations/{conv}/items/{item}", None, 200),
    ("delete item", "delete", "/v1/conversations/{conv}/items/{item}", None, 200),
]
ROUTE_IDS = [route[0] for route in ROUTES]
# Routes that name a conversation: anyone but its owner gets a 404.
OWNED_ROUTES = [route for route in ROUTES if "{conv}" in route[2]]


@pytest.fixture
def conversation(owner):
    conversation = ConversationFactory(owner=owner, metadata={"keep": "me"})
    append_turns(conversation, 2)
    conversation.refresh_from_db()
    return conversation


def call(client, method, template, body, conversation, headers):
    path = template.format(conv=conversation.public_id, item=conversation.current_message.public_id)
    kwargs = dict(headers)
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)(path, **kwargs)


@pytest.mark.parametrize(("name", "method", "template", "body", "status"), ROUTES, ids=ROUTE_IDS)
def test_owner_reaches_every_route(
    client, bearer, conversation, name, method, template, body, status
):
    response = call(client, method, template, body, conversation, bearer)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("name", "method", "template", "body", "status"), OWNED_ROUTES, ids=[r[0] for r in OWNED_ROUTES]
)
def test_outsider_gets_the_same_404_as_for_a_missing_conversation(
    client, outsider_bearer, conversation, name, method, template, body, status
):
    response = call(client, method, template, body, conversation, outsider_bearer)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found" and error["type"] == "invalid_request_error"

    missing = ConversationFactory.build(public_id="conv_missing")
    missing.current_message = Message(public_id="msg_missing")
    assert call(client, method, template, body, missing, outsider_bearer).json() == response.json()

    conversation.refresh_from_db()
    assert conversation.metadata == {"keep": "me"}
    assert conversation.message_count == 2


@pytest.mark.parametrize(("name", "method", "template", "body", "status"), ROUTES, ids=ROUTE_IDS)
def test_anonymous_gets_401_on_every_route(
    client, conversation, name, method, template, body, status
):
    response = call(client, method, template, body, conversation, {})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("name", "method", "template", "body", "status"), ROUTES, ids=ROUTE_IDS)
def test_revoked_key_gets_401_on_every_route(
    client, owner, conversation, owner_key, bearer, name, method, template, body, status
):
    owner.api_keys.update(revoked_at="2026-01-01T00:00:00Z")
    response = call(client, method, template, body, conversation, bearer)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_session_login_is_not_an_api_key(owner_client, conversation):
    response = owner_client.get(f"/v1/conversations/{conversation.public_id}")
    assert response.status_code == 401


def test_unknown_path_under_v1_is_a_json_404(client, bearer):
    # /v1/models exists since issue 13, so a path that is still unknown.
    response = client.get("/v1/no-such-endpoint", **bearer)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_wrong_method_is_a_json_405(client, bearer, conversation):
    response = client.put(f"/v1/conversations/{conversation.public_id}", **bearer)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def post_json(client, path, body, headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", **headers)


def test_create_maps_developer_to_system_and_keeps_item_order(client, bearer, owner):
    response = post_json(
        client,
        "/v1/conversations",
        {
            "items": [
                {"role": "developer", "content": "rules"},
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "a"},
                        {"type": "input_text", "text": "b"},
                    ],
                },
            ]
        },
        bearer,
    )
    assert response.status_code == 200
    conversation = Conversation.objects.get(public_id=response.json()["id"])
    assert conversation.owner == owner
    messages = list(conversation.messages.order_by("id").values_list("role", "content"))
    assert messages == [("system", "rules"), ("user", "a\n\nb")]
    assert conversation.current_message.content == "a\n\nb"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"metadata": {"k" * 65: "v"}}, "metadata"),
        ({"metadata": {"k": "v" * 513}}, "metadata"),
        ({"metadata": {"k": 1}}, "metadata"),
        ({"metadata": "tags"}, "metadata"),
        ({"items": "hello"}, "items"),
        ({"items": [{"role": "tool", "content": "x"}]}, "items[0].role"),
        ({"items": [{"role": "user", "content": "   "}]}, "items[0].content"),
        ({"items": [{"role": "user", "content": []}]}, "items[0].content"),
        ({"items": [{"role": "user"}]}, "items[0].content"),
        (
            {"items": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
            "items[0].content[0].type",
        ),
        ({"items": [{"type": "function_call", "name": "f"}]}, "items[0].type"),
        ({"items": [{"role": "user", "content": "ok", "colour": "red"}]}, "items[0].colour"),
        ({"temperature": 1}, "temperature"),
        ({"title": "x" * 201}, "title"),
    ],
)
def test_create_rejects_bad_input_naming_the_parameter_and_creates_nothing(
    client, bearer, body, param
):
    response = post_json(client, "/v1/conversations", body, bearer)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert error["message"]
    assert not Conversation.objects.exists()


def test_create_rejects_a_body_that_is_not_json(client, bearer):
    response = client.post(
        "/v1/conversations", data="{nope", content_type="application/json", **bearer
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_create_rejects_an_oversized_message_with_413(client, bearer, settings):
    settings.MAX_MESSAGE_CHARS = 10
    response = post_json(
        client, "/v1/conversations", {"items": [{"role": "user", "content": "x" * 11}]}, bearer
    )
    assert response.status_code == 413
    assert response.json()["error"]["param"] == "items[0].content"
    assert response.json()["error"]["code"] == "message_too_long"
    assert not Conversation.objects.exists()


def test_an_oversized_request_body_is_a_413(client, bearer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"items": [{"role": "user", "content": "x" * 2000}]}
    response = post_json(client, "/v1/conversations", body, bearer)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_items_create_is_all_or_nothing(client, bearer, conversation):
    body = {"items": [{"role": "user", "content": "fine"}, {"role": "user", "content": ""}]}
    response = post_json(client, f"/v1/conversations/{conversation.public_id}/items", body, bearer)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "items[1].content"
    assert conversation.messages.count() == 2


def test_items_create_past_the_message_cap_adds_none(client, bearer, conversation, settings):
    settings.MAX_MESSAGES_PER_CONVERSATION = 3
    body = {"items": [{"role": "user", "content": "fits"}, {"role": "assistant", "content": "not"}]}
    response = post_json(client, f"/v1/conversations/{conversation.public_id}/items", body, bearer)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "conversation_full"
    conversation.refresh_from_db()
    assert conversation.message_count == 2 and conversation.messages.count() == 2


def test_items_create_needs_at_least_one_item(client, bearer, conversation):
    response = post_json(
        client, f"/v1/conversations/{conversation.public_id}/items", {"items": []}, bearer
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "items"


def test_items_create_appends_under_the_current_leaf(client, bearer, conversation):
    leaf = conversation.current_message
    body = {
        "items": [{"role": "user", "content": "next"}, {"role": "assistant", "content": "reply"}]
    }
    response = post_json(client, f"/v1/conversations/{conversation.public_id}/items", body, bearer)
    first, second = response.json()["data"]
    user_message = Message.objects.get(public_id=first["id"])
    reply = Message.objects.get(public_id=second["id"])
    assert user_message.parent == leaf and reply.parent == user_message
    conversation.refresh_from_db()
    assert conversation.current_message == reply
    assert conversation.message_count == 4


def test_update_replaces_metadata_and_renames_with_the_title_extension(
    client, bearer, conversation
):
    response = post_json(
        client,
        f"/v1/conversations/{conversation.public_id}",
        {"metadata": {"new": "1"}, "title": "Renamed"},
        bearer,
    )
    assert response.json()["metadata"] == {"new": "1"}
    assert response.json()["title"] == "Renamed"
    conversation.refresh_from_db()
    assert (conversation.metadata, conversation.title) == ({"new": "1"}, "Renamed")


def test_update_without_metadata_is_a_400(client, bearer, conversation):
    response = post_json(client, f"/v1/conversations/{conversation.public_id}", {}, bearer)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "metadata"
    conversation.refresh_from_db()
    assert conversation.metadata == {"keep": "me"}


def test_update_with_null_metadata_clears_it(client, bearer, conversation):
    response = post_json(
        client, f"/v1/conversations/{conversation.public_id}", {"metadata": None}, bearer
    )
    assert response.json()["metadata"] == {}


def test_deleting_an_item_deletes_the_replies_below_it(client, bearer, conversation):
    first = conversation.messages.get(parent__isnull=True)
    response = client.delete(
        f"/v1/conversations/{conversation.public_id}/items/{first.public_id}", **bearer
    )
    assert response.json() == {
        "id": conversation.public_id,
        "object": "conversation",
        "created_at": int(conversation.created_at.timestamp()),
        "metadata": {"keep": "me"},
        "title": conversation.title,
    }
    conversation.refresh_from_db()
    assert conversation.message_count == 0 and conversation.current_message is None


def test_item_of_another_conversation_is_a_404(client, bearer, owner, conversation):
    other = ConversationFactory(owner=owner)
    message = MessageFactory(conversation=other)
    response = client.get(
        f"/v1/conversations/{conversation.public_id}/items/{message.public_id}", **bearer
    )
    assert response.status_code == 404
    response = client.delete(
        f"/v1/conversations/{conversation.public_id}/items/{message.public_id}", **bearer
    )
    assert response.status_code == 404
    assert Message.objects.filter(pk=message.pk).exists()


def test_deleting_an_item_while_generating_is_a_409(client, bearer, conversation):
    leaf = conversation.current_message
    MessageFactory(conversation=conversation, parent=leaf, role="assistant", status="in_progress")
    response = client.delete(
        f"/v1/conversations/{conversation.public_id}/items/{leaf.public_id}", **bearer
    )
    assert response.status_code == 409
    assert Message.objects.filter(pk=leaf.pk).exists()


def test_items_of_a_reply_map_statuses(client, bearer, conversation):
    MessageFactory(
        conversation=conversation,
        parent=conversation.current_message,
        role="assistant",
        status="stopped",
        content="partial",
    )
    items = client.get(f"/v1/conversations/{conversation.public_id}/items", **bearer).json()["data"]
    leaf = conversation.messages.get(status="stopped")
    # current_message still points at the old leaf, so the stopped reply is off-branch.
    assert leaf.public_id not in [item["id"] for item in items]
    item = client.get(
        f"/v1/conversations/{conversation.public_id}/items/{leaf.public_id}", **bearer
    ).json()
    assert item["status"] == "incomplete"
    assert item["content"] == [
        {"type": "output_text", "text": "partial", "annotations": [], "logprobs": []}
    ]


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("order=newest", "order"),
        ("after=msg_nope", "after"),
        ("include[]=bogus", "include"),
    ],
)
def test_item_list_rejects_bad_query_parameters(client, bearer, conversation, query, param):
    response = client.get(f"/v1/conversations/{conversation.public_id}/items?{query}", **bearer)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_item_list_accepts_known_include_values(client, bearer, conversation):
    response = client.get(
        f"/v1/conversations/{conversation.public_id}/items?include[]=message.output_text.logprobs",
        **bearer,
    )
    assert response.status_code == 200
    assert len(response.json()["data"]) == 2


def test_item_list_refuses_an_after_item_off_the_current_branch(client, bearer, conversation):
    root = conversation.messages.get(parent__isnull=True)
    stray = MessageFactory(conversation=conversation, parent=root, role="assistant")
    response = client.get(
        f"/v1/conversations/{conversation.public_id}/items?order=asc&after={stray.public_id}",
        **bearer,
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "after"


def test_item_list_desc_after_an_item_off_the_current_branch_follows_its_history(
    client, bearer, conversation
):
    root = conversation.messages.get(parent__isnull=True)
    stray = MessageFactory(conversation=conversation, parent=root, role="assistant")
    response = client.get(
        f"/v1/conversations/{conversation.public_id}/items?after={stray.public_id}", **bearer
    )
    assert [item["id"] for item in response.json()["data"]] == [root.public_id]


def test_conversation_list_rejects_an_after_id_of_another_user(client, bearer, outsider):
    foreign = ConversationFactory(owner=outsider)
    response = client.get(f"/v1/conversations?after={foreign.public_id}", **bearer)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "after"


def test_empty_conversation_lists_no_items(client, bearer, owner):
    conversation = ConversationFactory(owner=owner)
    page = client.get(f"/v1/conversations/{conversation.public_id}/items", **bearer).json()
    assert page == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


def test_deleting_a_conversation_deeper_than_1000_messages_works(client, bearer, owner):
    conversation = deep_conversation(owner, 1010)
    response = client.delete(f"/v1/conversations/{conversation.public_id}", **bearer)
    assert response.status_code == 200
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()


def test_a_server_fault_is_logged_and_answered_as_a_json_500(
    client, bearer, conversation, monkeypatch, caplog
):
    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("v1.views.selectors.conversation_get_for_user", broken)
    response = client.get(f"/v1/conversations/{conversation.public_id}", **bearer)
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error"
    assert "database on fire" not in response.content.decode()
    assert "database on fire" in caplog.text
