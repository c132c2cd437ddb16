import pytest

from tests.factories import UserFactory


@pytest.fixture
def staff(db):
    return UserFactory(username="moderator", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client
