"""A password change, a reset or a deactivation ends the account's other sessions and sockets."""

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.forms import SetPasswordForm
from django.test import Client

from core import events
from tests.api.conftest import JsonClient, make_key
from tests.conftest import PASSWORD
from tests.engine.conftest import open_socket, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a brand new passphrase"


def client_with(cookie: str) -> Client:
    client = Client()
    name, value = cookie.split("=", 1)
    client.cookies[name] = value
    return client


async def assert_closed(communicator):
    message = await communicator.receive_output(timeout=5)
    assert message["type"] == "websocket.close"
    await communicator.disconnect()


async def test_password_change_closes_the_other_sessions_sockets(owner, conversation):
    mine = await sync_to_async(session_cookie)(owner)
    other = await sync_to_async(session_cookie)(owner)
    path = f"/ws/chat/{conversation.public_id}/"
    socket, connected = await open_socket(path, other)
    assert connected

    def change_password():
        client = client_with(mine)
        response = client.post(
            "/accounts/password/",
            {
                "old_password": PASSWORD,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
        assert response.status_code == 302
        # The session that changed it stays signed in (under its new key).
        name = settings.SESSION_COOKIE_NAME
        return f"{name}={client.cookies[name].value}"

    renewed = await sync_to_async(change_password)()
    await assert_closed(socket)

    # The other session is signed out over HTTP and its sockets are refused...
    response = await sync_to_async(client_with(other).get)("/")
    assert response.status_code == 302
    refused, connected = await open_socket(path, other)
    assert not connected
    await refused.disconnect()
    # ...while the session that changed the password opens a socket that stays open.
    kept, connected = await open_socket(path, renewed)
    assert connected
    await events.apublish(events.user_group(owner.pk), {"type": "user.sessions_ended"})
    await events.apublish(
        events.user_group(owner.pk),
        {"type": "sidebar.changed", "conversation_id": "conv_x", "action": "renamed"},
    )
    frame = await kept.receive_from(timeout=5)
    assert 'id="sidebar-refresh"' in frame
    await kept.disconnect()


async def test_password_reset_closes_every_socket_of_the_account(owner, conversation):
    cookie = await sync_to_async(session_cookie)(owner)
    socket, connected = await open_socket("/ws/chat/", cookie)
    assert connected

    def reset():
        form = SetPasswordForm(
            owner, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        )
        assert form.is_valid(), form.errors
        form.save()

    await sync_to_async(reset)()
    await assert_closed(socket)


async def test_deactivation_closes_sockets_and_its_api_keys_answer_401(owner, conversation):
    cookie = await sync_to_async(session_cookie)(owner)
    socket, connected = await open_socket(f"/ws/chat/{conversation.public_id}/", cookie)
    assert connected
    key = await sync_to_async(make_key)(owner)

    def deactivate():
        owner.is_active = False
        owner.save()  # as the admin's change form does

    await sync_to_async(deactivate)()
    await assert_closed(socket)

    api = JsonClient(key)
    response = await sync_to_async(api.get)("/api/conversations/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid or revoked API key."
    response = await sync_to_async(api.get)("/v1/conversations/" + conversation.public_id)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    response = await sync_to_async(client_with(cookie).get)("/")
    assert response.status_code == 302


async def test_saves_that_change_no_credential_leave_sockets_open(owner, conversation):
    cookie = await sync_to_async(session_cookie)(owner)
    socket, connected = await open_socket("/ws/chat/", cookie)
    assert connected

    def rename():
        owner.first_name = "Alice"
        owner.save()

    await sync_to_async(rename)()
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()
