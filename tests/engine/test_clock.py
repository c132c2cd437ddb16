"""Frames show times in the browser's zone: per socket its cookie's, the reply its sender's."""

import re
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.utils import timezone

from conversations import engine
from conversations.services import message_send
from core.timezone import COOKIE_NAME
from tests.engine.conftest import frames_until, open_socket, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

OFFSET = re.compile(r'<time datetime="[^"]+([+-]\d\d:\d\d)"')


async def test_created_frames_follow_each_sockets_zone_and_the_reply_its_senders(
    owner, conversation, fake_openai, fast_engine
):
    fake_openai.tokens = [" Hello", " there."]
    cookie = await sync_to_async(session_cookie)(owner)
    path = f"/ws/chat/{conversation.public_id}/"
    auckland, connected = await open_socket(path, f"{cookie}; {COOKIE_NAME}=Pacific/Auckland")
    assert connected
    server, connected = await open_socket(path, cookie)
    assert connected

    # As the send view does: the request runs in the zone its browser's cookie names.
    with timezone.override("Pacific/Auckland"):
        result = await database_sync_to_async(message_send)(conversation=conversation, content="Hi")
    reply = result.assistant_message
    await engine.wait_for_running()
    # +13:00 in the New Zealand summer, +12:00 in its winter.
    local = timezone.localtime(reply.created_at, ZoneInfo("Pacific/Auckland")).isoformat()[-6:]

    created = f'id="message-{reply.public_id}"'
    (auckland_created,) = await frames_until(auckland, lambda f: created in f)
    (server_created,) = await frames_until(server, lambda f: created in f)
    # Each socket renders the new messages itself, in its own browser's zone.
    assert set(OFFSET.findall(auckland_created)) == {local}
    assert set(OFFSET.findall(server_created)) == {"+00:00"}

    # The final frame is rendered once, by the engine, in the zone of who asked for it.
    frames = await frames_until(auckland, lambda f: 'data-status="completed"' in f)
    assert OFFSET.findall(frames[-1]) == [local]
    for tab in (auckland, server):
        await tab.disconnect()
