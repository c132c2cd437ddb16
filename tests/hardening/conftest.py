"""Fixtures for the hardening tests: fresh throttle counters and an API key."""

import pytest
from django.core.cache import caches

from tests.v1.conftest import make_key


@pytest.fixture(autouse=True)
def _fresh_caches():
    for cache in caches.all():
        cache.clear()
    yield
    for cache in caches.all():
        cache.clear()


@pytest.fixture
def bearer(owner):
    return {"HTTP_AUTHORIZATION": f"Bearer {make_key(owner)}"}
