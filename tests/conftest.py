"""The shared fixture world: an owner, an outsider, and anonymous for every permission test."""

import pytest

from tests.factories import UserFactory

pytest_plugins = ["tests.fake_openai"]

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
