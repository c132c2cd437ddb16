"""Signing up keeps ?next, so a visitor from a shared link lands where they were going."""

import pytest

pytestmark = pytest.mark.django_db


def test_login_links_to_signup_with_next_and_signup_redirects_there(client, settings):
    settings.SIGNUP_ENABLED = True
    html = client.get("/accounts/login/?next=/s/abc/continue/").content.decode()
    assert "/accounts/signup/?next=/s/abc/continue/" in html
    form = client.get("/accounts/signup/?next=/s/abc/continue/").content.decode()
    assert 'name="next" value="/s/abc/continue/"' in form
    password = "correct horse battery staple"
    response = client.post(
        "/accounts/signup/",
        {
            "username": "newcomer",
            "password1": password,
            "password2": password,
            "next": "/s/abc/continue/",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/s/abc/continue/"


def test_signup_ignores_a_foreign_next(client, settings):
    settings.SIGNUP_ENABLED = True
    password = "correct horse battery staple"
    response = client.post(
        "/accounts/signup/",
        {
            "username": "other",
            "password1": password,
            "password2": password,
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == "/"
