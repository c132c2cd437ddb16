"""Brute force on the login form and the admin login: counted per account and per address."""

import time

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client

from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture
def limits(settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 10
    settings.LOGIN_FAILURES_PER_ADDRESS = 30
    settings.CREDENTIAL_FAILURE_WINDOW = 900
    settings.CREDENTIAL_COOLDOWN = 900
    return settings


def login(client, username, password, path=LOGIN, address="203.0.113.7"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


class Clock:
    """Move time.time() forward, as the cache's expiry and the cool-down read it."""

    def __init__(self, monkeypatch):
        self.offset = 0.0
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + self.offset)

    def advance(self, seconds: float):
        self.offset += seconds


def test_sixty_wrong_passwords_then_the_right_one_is_refused_until_the_cool_down_ends(
    client, owner, limits, monkeypatch
):
    clock = Clock(monkeypatch)
    statuses = [login(client, "alice", f"guess {n}").status_code for n in range(60)]
    # The first 10 are checked and fail; from then on the account is cooling down.
    assert statuses[:10] == [200] * 10
    assert set(statuses[10:]) == {429}

    response = login(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts. Try again in 15 minutes." in response.text
    assert not signed_in(client)

    clock.advance(901)
    response = login(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)


def test_the_cool_down_holds_from_another_address_too(client, owner, limits):
    for n in range(10):
        login(client, "alice", f"guess {n}")
    response = login(Client(), "alice", PASSWORD, address="198.51.100.1")
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.text


def test_other_accounts_sign_in_while_one_cools_down(client, owner, limits):
    UserFactory(username="bob")
    for n in range(10):
        login(client, "alice", f"guess {n}")
    response = login(Client(), "bob", PASSWORD)
    assert response.status_code == 302


def test_one_address_trying_many_accounts_is_limited(client, owner, limits):
    statuses = [login(client, f"user{n}", "guess").status_code for n in range(31)]
    assert statuses[:30] == [200] * 30
    assert statuses[30] == 429
    # The right password of a real account from that address waits too...
    assert login(client, "alice", PASSWORD).status_code == 429
    # ...while the account signs in from elsewhere.
    assert login(Client(), "alice", PASSWORD, address="198.51.100.1").status_code == 302


def test_a_successful_login_clears_the_accounts_failures(client, owner, limits):
    for n in range(9):
        login(client, "alice", f"guess {n}")
    assert login(client, "alice", PASSWORD).status_code == 302
    client.logout()
    for n in range(9):
        assert login(client, "alice", f"again {n}").status_code == 200
    assert login(client, "alice", PASSWORD).status_code == 302


def test_a_wrong_password_still_explains_before_the_limit(client, owner, limits):
    response = login(client, "alice", "nope")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.text


def test_admin_login_is_limited_with_the_same_counts(client, limits):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    for n in range(10):
        assert login(client, "root", f"guess {n}", path=ADMIN_LOGIN).status_code == 200
    response = login(client, "root", PASSWORD, path=ADMIN_LOGIN)
    assert "Too many failed sign-in attempts" in response.text
    assert not signed_in(client)
    # The site's own login form shares the account's cool-down.
    assert login(client, "root", PASSWORD).status_code == 429


def test_limits_off_never_lock(client, owner, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 0
    settings.LOGIN_FAILURES_PER_ADDRESS = 0
    for n in range(30):
        login(client, "alice", f"guess {n}")
    assert login(client, "alice", PASSWORD).status_code == 302
