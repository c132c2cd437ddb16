"""The shared fixture world: an owner, an outsider, and anonymous for every permission test."""

import time

import pytest
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from tests.factories import UserFactory

pytest_plugins = ["tests.fake_openai", "tests.browser"]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def owner(db):
    return UserFactory(username="alice")


@pytest.fixture
def outsider(db):
    return UserFactory(username="mallory")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # The default hasher takes most of a second per user; its strength is not under test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def wait_for_a_fresh_rate_window(seconds_needed: float) -> None:
    """Sleep into the next minute unless seconds_needed are left of this one.

    Rate limits count in fixed windows of their period (accounts/throttling.py), so a test
    that spends a per-minute allowance and crosses into the next minute gets a fresh
    allowance halfway and sees its over-the-limit request pass. The real clock, no patching:
    the server under test may be another process.
    """
    left = 60 - time.time() % 60
    if left < seconds_needed:
        time.sleep(left + 0.05)


@pytest.fixture
def one_rate_window():
    """Start with no allowance spent, inside one minute's rate window (for tests under 10 s).

    What the test spent is cleared after it too, so no later test starts with it spent.
    """
    cache.clear()
    wait_for_a_fresh_rate_window(10)
    yield
    cache.clear()


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "e2e_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
            # A real browser against a real server on a busy 2-core machine occasionally loses
            # a race in its own timing; a second failure is a real one. Reruns are reported.
            item.add_marker(pytest.mark.flaky(reruns=1))


# For schemathesis runs in process (tests/api, tests/v1): one connection across its requests.
@pytest.fixture
def keep_test_connection():
    """Keep the test's database connection open across requests, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
