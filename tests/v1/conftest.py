"""Fixtures for /v1: API keys for the owner and the outsider, and the real `openai` SDK."""

import openai
import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.services import api_key_create
from conversations import services


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    # Throttle counters live in the cache; each test starts with none spent.
    cache.clear()
    yield
    cache.clear()


def make_key(user) -> str:
    api_key, raw = api_key_create(user=user, name="tests")
    # A fresh last_used_at keeps the auth to one query (it is written at most once a minute).
    api_key.last_used_at = timezone.now()
    api_key.save(update_fields=["last_used_at"])
    return raw


@pytest.fixture
def owner_key(owner) -> str:
    return make_key(owner)


@pytest.fixture
def outsider_key(outsider) -> str:
    return make_key(outsider)


@pytest.fixture
def bearer(owner_key):
    return {"HTTP_AUTHORIZATION": f"Bearer {owner_key}"}


@pytest.fixture
def outsider_bearer(outsider_key):
    return {"HTTP_AUTHORIZATION": f"Bearer {outsider_key}"}


def make_sdk(live_server, key: str) -> openai.OpenAI:
    # No retries: a test asserting a 409 or 429 must see the first answer.
    return openai.OpenAI(api_key=key, base_url=f"{live_server.url}/v1", max_retries=0)


# Closing the client ends its keep-alive connections while the test's database is still
# shared with the server's request threads.
@pytest.fixture
def sdk(live_server, transactional_db, owner_key):
    with make_sdk(live_server, owner_key) as client:
        yield client


@pytest.fixture
def outsider_sdk(live_server, transactional_db, outsider_key):
    with make_sdk(live_server, outsider_key) as client:
        yield client


def append_turns(conversation, count: int) -> list:
    """Append `count` finished messages alternating user/assistant through the real service."""
    roles = ["user", "assistant"]
    return [
        services.message_append(
            conversation=conversation, role=roles[i % 2], content=f"message {i}"
        )
        for i in range(count)
    ]
