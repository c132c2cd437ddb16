"""Fixtures for the DRF API: keys, JSON clients and a small world owned by `owner`."""

import json

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from accounts.services import api_key_create
from conversations import services
from conversations.models import Message
from sharing.models import ShareLink
from tests.factories import ConversationFactory, MessageFactory, ProjectFactory


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    # Throttle counters live in the cache; each test starts with none spent.
    cache.clear()
    yield
    cache.clear()


def make_key(user, name="tests") -> str:
    api_key, raw = api_key_create(user=user, name=name)
    # A fresh last_used_at keeps auth to one query (it is written at most once a minute).
    api_key.last_used_at = timezone.now()
    api_key.save(update_fields=["last_used_at"])
    return raw


class JsonClient:
    """A test client that speaks JSON and sends a Bearer key (or nothing)."""

    def __init__(self, key: str | None = None, client: Client | None = None):
        self.client = client or Client()
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def request(self, method: str, path: str, data=None, **extra):
        kwargs = {"headers": self.headers | extra.pop("headers", {}), **extra}
        if method == "get":
            return self.client.get(path, data, **kwargs)
        body = json.dumps(data) if data is not None else ""
        return getattr(self.client, method)(path, body, content_type="application/json", **kwargs)

    def get(self, path, data=None, **extra):
        return self.request("get", path, data, **extra)

    def post(self, path, data=None, **extra):
        return self.request("post", path, data, **extra)

    def patch(self, path, data=None, **extra):
        return self.request("patch", path, data, **extra)

    def delete(self, path, data=None, **extra):
        return self.request("delete", path, data, **extra)


@pytest.fixture
def owner_key(owner) -> str:
    return make_key(owner)


@pytest.fixture
def outsider_key(outsider) -> str:
    return make_key(outsider)


@pytest.fixture
def api(owner_key) -> JsonClient:
    return JsonClient(owner_key)


@pytest.fixture
def outsider_api(outsider_key) -> JsonClient:
    return JsonClient(outsider_key)


@pytest.fixture
def anonymous_api(db) -> JsonClient:
    return JsonClient()


@pytest.fixture
def session_api(owner_client) -> JsonClient:
    return JsonClient(client=owner_client)


def finished_turn(conversation, text="Hello"):
    """Append a user message and a finished reply through the real services."""
    question = services.message_append(conversation=conversation, role="user", content=text)
    reply = services.message_append(
        conversation=conversation, role="assistant", content=f"Re: {text}", model="demo"
    )
    return question, reply


@pytest.fixture
def world(owner):
    """One of everything the owner can address by id: project, conversation, messages, link."""
    project = ProjectFactory(owner=owner, title="Travel")
    conversation = ConversationFactory(owner=owner, title="Lisbon", project=project)
    question, reply = finished_turn(conversation, "What to see?")
    share = ShareLink.objects.create(owner=owner, conversation=conversation, message=reply)
    return {
        "project": project,
        "conversation": conversation,
        "question": question,
        "reply": reply,
        "share": share,
    }


def in_progress_reply(conversation) -> Message:
    """Start a reply through message_send (generation never starts: the test never commits)."""
    return services.message_send(conversation=conversation, content="Go on").assistant_message


def in_progress_row(conversation) -> Message:
    """Store a user message and a reply `in_progress` with no engine behind it."""
    question = MessageFactory(conversation=conversation, role="user", content="Go on")
    reply = MessageFactory(
        conversation=conversation, parent=question, role="assistant", content="",
        status=Message.Status.IN_PROGRESS,
    )  # fmt: skip
    conversation.current_message = reply
    conversation.message_count = 2
    conversation.save(update_fields=["current_message", "message_count"])
    return reply
