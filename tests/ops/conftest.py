import pytest

from tests.factories import UserFactory


@pytest.fixture
def staff(db):
    return UserFactory(username="moderator", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The fixture world makes many users; hashing their passwords properly takes seconds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
