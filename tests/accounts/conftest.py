import pytest
from django.core.cache import cache

from tests.factories import ConversationFactory


@pytest.fixture(autouse=True)
def _fresh_credential_counters():
    # Failure counts and cool-downs live in the cache; each test starts with none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def conversation(owner):
    return ConversationFactory(owner=owner)
