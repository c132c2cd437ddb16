"""Signing up, in and out, changing the password, and the account menu."""

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from tests.conftest import PASSWORD
from tests.factories import UserFactory

NEW_PASSWORD = "a much longer secret phrase"

pytestmark = pytest.mark.django_db


def test_login_page_renders_a_form_with_clean_labels(client):
    html = client.get("/accounts/login/").content.decode()
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert 'href="/accounts/signup/"' in html


def test_login_then_home(client, owner):
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1] == ("/", 302)
    assert response.wsgi_request.user == owner


def test_login_with_a_wrong_password_explains(client, owner):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_login_keeps_next(client, owner):
    response = client.post(
        "/accounts/login/?next=/archived/",
        {"username": "alice", "password": PASSWORD, "next": "/archived/"},
    )
    assert response["Location"] == "/archived/"


def test_signup_creates_an_account_and_signs_in(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "newbie", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        follow=True,
    )
    assert response.redirect_chain == [("/", 302)]
    assert response.wsgi_request.user.username == "newbie"
    assert "Welcome, newbie." in response.content.decode()


def test_signup_with_mismatched_passwords_explains_and_creates_nothing(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "newbie", "password1": NEW_PASSWORD, "password2": "something else"},
    )
    assert response.status_code == 400
    assert "didn’t match" in response.content.decode()
    assert not get_user_model().objects.filter(username="newbie").exists()


@override_settings(SIGNUP_ENABLED=False)
def test_signup_is_404_when_disabled_and_not_offered(client):
    assert client.get("/accounts/signup/").status_code == 404
    response = client.post(
        "/accounts/signup/",
        {"username": "newbie", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 404
    assert not get_user_model().objects.filter(username="newbie").exists()
    assert "/accounts/signup/" not in client.get("/accounts/login/").content.decode()


def test_logout_needs_post(owner_client):
    assert owner_client.get("/accounts/logout/").status_code == 405
    response = owner_client.post("/accounts/logout/")
    assert response.status_code == 302
    assert owner_client.get("/").status_code == 302


def test_password_change(owner_client, owner):
    response = owner_client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response["Location"] == "/accounts/password/done/"
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)


def test_password_change_needs_login(client):
    assert client.get("/accounts/password/")["Location"].startswith("/accounts/login/")


def test_account_menu_links(owner_client):
    html = owner_client.get("/").content.decode()
    assert 'aria-label="Account menu for alice"' in html
    assert 'href="/archived/">Archived</a>' in html
    assert 'href="/accounts/password/">Change password</a>' in html
    assert 'action="/accounts/logout/"' in html
    assert "/admin/" not in html


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("api-keys", "API keys"),
        ("data-settings", "Export and import"),
        ("shared-links", "Shared links"),
    ],
)
def test_account_menu_links_to_settings_pages_that_exist(owner_client, name, label):
    from django.urls import NoReverseMatch, reverse

    html = owner_client.get("/").content.decode()
    try:
        url = reverse(name)
    except NoReverseMatch:
        assert f">{label}</a>" not in html
    else:
        assert f'href="{url}">{label}</a>' in html


def test_staff_see_admin_link(client):
    staff = UserFactory(username="root", is_staff=True)
    client.force_login(staff)
    assert 'href="/admin/">Admin</a>' in client.get("/").content.decode()


def test_pages_are_csp_clean(owner_client, conversation):
    html = owner_client.get(f"/c/{conversation.public_id}/").content.decode()
    assert " style=" not in html
    assert " onclick=" not in html and "hx-on" not in html
    assert "<script>" not in html  # scripts come from /static only
    assert "https://" not in html.split("<body")[0]  # nothing from other sites
    assert '"allowEval": false' in html
