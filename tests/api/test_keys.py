"""API keys: Bearer auth, last-used time, the command, and the settings page."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiKey, hash_key
from accounts.services import api_key_create, api_key_revoke
from tests.api.conftest import JsonClient


def test_a_key_is_stored_only_as_a_hash(owner):
    api_key, raw = api_key_create(user=owner, name="laptop")
    assert raw.startswith("sk-chat-")
    assert api_key.key_hash == hash_key(raw)
    assert raw not in {api_key.key_hash, api_key.prefix}
    assert raw.startswith(api_key.prefix)


def test_bearer_key_authenticates_as_its_owner(owner):
    _, raw = api_key_create(user=owner)
    response = JsonClient(raw).post("/api/conversations/", {"title": "From a key"})
    assert response.status_code == 201
    assert owner.conversations.get().title == "From a key"


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer sk-chat-wrong", "Bearer a b", "bearer sk-chat-nope"],
)
def test_bad_bearer_headers_are_401_with_a_challenge(db, header):
    response = Client().get("/api/conversations/", headers={"Authorization": header})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["error"]["code"] == "authentication_failed"


def test_revoked_key_stops_working_at_once(owner):
    api_key, raw = api_key_create(user=owner)
    client = JsonClient(raw)
    assert client.get("/api/conversations/").status_code == 200
    api_key_revoke(api_key=api_key)
    response = client.get("/api/conversations/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid or revoked API key."


def test_key_of_a_deactivated_user_is_refused(owner):
    _, raw = api_key_create(user=owner)
    owner.is_active = False
    owner.save()
    assert JsonClient(raw).get("/api/conversations/").status_code == 401


def test_last_used_is_written_at_most_once_a_minute(owner, django_assert_num_queries):
    api_key, raw = api_key_create(user=owner)
    client = JsonClient(raw)
    # Expect 3 queries: API key with its user, last_used_at update, conversations.
    with django_assert_num_queries(3):
        client.get("/api/conversations/")
    api_key.refresh_from_db()
    first_use = api_key.last_used_at
    assert first_use is not None
    # Expect 2 queries: API key with its user, conversations (no write within the minute).
    with django_assert_num_queries(2):
        client.get("/api/conversations/")
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=first_use - timedelta(minutes=2))
    client.get("/api/conversations/")
    api_key.refresh_from_db()
    assert api_key.last_used_at > first_use - timedelta(seconds=1)


def test_session_writes_need_the_csrf_token(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post("/api/conversations/", {}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]
    client.get(reverse("api-keys"))  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/conversations/", {}, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 201


def test_bearer_writes_need_no_csrf_token(owner):
    _, raw = api_key_create(user=owner)
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/conversations/",
        {},
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 201


def test_create_api_key_command_prints_a_working_key_last(owner):
    out = StringIO()
    call_command("create_api_key", "alice", "--name", "ci", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    assert ApiKey.objects.get(key_hash=hash_key(raw)).name == "ci"
    assert JsonClient(raw).get("/api/conversations/").status_code == 200


def test_create_api_key_command_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("create_api_key", "nobody", stdout=StringIO())
    assert not ApiKey.objects.exists()


# The settings page.


def test_keys_page_needs_login(client):
    response = client.get(reverse("api-keys"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_keys_page_lists_my_keys_only(owner_client, owner, outsider):
    api_key_create(user=owner, name="laptop")
    api_key_create(user=outsider, name="their-server")
    response = owner_client.get(reverse("api-keys"))
    assert response.status_code == 200
    assert "laptop" in response.text
    assert "their-server" not in response.text
    assert "Never" in response.text  # last used


def test_keys_page_query_count_is_fixed(owner_client, owner, django_assert_num_queries):
    for i in range(5):
        api_key_create(user=owner, name=f"key {i}")
    # Expect 3 queries: session, user, keys.
    with django_assert_num_queries(3):
        assert owner_client.get(reverse("api-keys")).status_code == 200


def test_creating_a_key_shows_it_once(owner_client, owner):
    response = owner_client.post(reverse("api-keys"), {"name": "laptop"})
    assert response.status_code == 201
    assert response["Cache-Control"].startswith("max-age=0")
    assert "no-store" in response["Cache-Control"]
    raw = response.context["created"].raw_key
    assert raw in response.text
    assert JsonClient(raw).get("/api/conversations/").status_code == 200
    assert raw not in owner_client.get(reverse("api-keys")).text


def test_creating_a_key_with_too_long_a_name_is_refused(owner_client, owner):
    response = owner_client.post(reverse("api-keys"), {"name": "x" * 101})
    assert response.status_code == 400
    assert not ApiKey.objects.exists()


def test_revoking_a_key_from_the_page(owner_client, owner):
    api_key, raw = api_key_create(user=owner, name="laptop")
    response = owner_client.post(reverse("api-key-revoke", args=[api_key.prefix]), follow=True)
    assert response.status_code == 200
    assert "revoked" in response.text
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert JsonClient(raw).get("/api/conversations/").status_code == 401


def test_nobody_can_revoke_someone_elses_key(outsider_client, owner):
    api_key, _ = api_key_create(user=owner)
    response = outsider_client.post(reverse("api-key-revoke", args=[api_key.prefix]))
    assert response.status_code == 404
    api_key.refresh_from_db()
    assert api_key.revoked_at is None


def test_revoke_needs_post(owner_client, owner):
    api_key, _ = api_key_create(user=owner)
    assert owner_client.get(reverse("api-key-revoke", args=[api_key.prefix])).status_code == 405


def test_last_used_time_shows_on_the_page(owner_client, owner):
    api_key, _ = api_key_create(user=owner, name="laptop")
    used = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=used)
    html = owner_client.get(reverse("api-keys")).text
    # The site's one time format (core/formats), in the server's zone (UTC) without a tz cookie.
    assert f'<time datetime="{used.isoformat()}"' in html
    assert f">{used:%b} {used.day}, {used.year}, {used:%H:%M}</time>" in html
