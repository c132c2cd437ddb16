"""Lock, close and reopen reach every open tab at once; a reply in progress is stopped."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from conversations import engine, moderation
from conversations.models import Message
from conversations.services import message_send
from tests.engine.conftest import frames_until, open_socket, session_cookie, wait_final
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db(transaction=True)


def is_composer(frame: str) -> bool:
    return 'id="composer"' in frame and 'hx-swap-oob="true"' in frame


async def test_lock_close_and_reopen_rerender_the_composer_on_every_tab(owner, conversation):
    cookie = await sync_to_async(session_cookie)(owner)
    tabs = []
    for _ in range(2):
        communicator, connected = await open_socket(f"/ws/chat/{conversation.public_id}/", cookie)
        assert connected
        tabs.append(communicator)

    await database_sync_to_async(moderation.conversation_lock)(
        conversation=conversation, actor=None, reason="Escalated to support."
    )
    for tab in tabs:
        (frame,) = await frames_until(tab, is_composer)
        assert 'placeholder="Escalated to support."' in frame
        assert "data-composer-input disabled" in frame
        assert "Enter to send" not in frame
        assert "data-composer-banner" not in frame

    await database_sync_to_async(moderation.conversation_close)(
        conversation=conversation, actor=None, reason="Resolved."
    )
    for tab in tabs:
        (frame,) = await frames_until(tab, is_composer)
        assert "data-composer-banner" in frame
        assert "This conversation is closed." in frame and "Resolved." in frame

    await database_sync_to_async(moderation.conversation_reopen)(
        conversation=conversation, actor=None
    )
    for tab in tabs:
        (frame,) = await frames_until(tab, is_composer)
        assert 'placeholder="Message the assistant"' in frame
        assert "disabled" not in frame.split("<textarea", 1)[1].split(">", 1)[0]
        assert "Enter to send" in frame
        await tab.disconnect()


async def test_lock_stops_a_reply_in_progress_keeping_its_text(
    owner, conversation, fake_openai, fast_engine
):
    fake_openai.tokens = [f" word{i}" for i in range(400)]
    fake_openai.token_delay = 0.01
    cookie = await sync_to_async(session_cookie)(owner)
    communicator, connected = await open_socket(f"/ws/chat/{conversation.public_id}/", cookie)
    assert connected
    result = await database_sync_to_async(message_send)(conversation=conversation, content="Hi")
    reply = result.assistant_message
    await frames_until(communicator, lambda f: f'id="message-{reply.public_id}"' in f)
    await frames_until(communicator, lambda f: "word3" in f)

    await database_sync_to_async(moderation.conversation_lock)(
        conversation=conversation, actor=None, reason="Paused by a moderator."
    )
    # The engine's task first: on the in-memory test database its writes share the one sync
    # thread, which wait_final would hold while it polls.
    await engine.wait_for_running()
    reply = await sync_to_async(wait_final)(reply)
    frames = await frames_until(communicator, lambda f: 'data-status="stopped"' in f)
    done = frames[-1]
    await communicator.disconnect()
    assert reply.status == Message.Status.STOPPED
    assert reply.content.startswith(" word0 word1")
    assert len(reply.content) < len(fake_openai.reply)
    # The reply's own status line says why it stopped, not "Stopped by user."
    line = "Stopped: conversation locked — Paused by a moderator."
    assert reply.status_reason == line
    status_line = done.split('class="message-status', 1)[1].split("</p>", 1)[0]
    assert line in status_line and "Stopped by user." not in done


async def test_close_stops_with_its_reason_when_the_stop_event_is_lost(
    owner, conversation, fake_openai, fast_engine, monkeypatch
):
    fake_openai.tokens = [f" word{i}" for i in range(400)]
    fake_openai.token_delay = 0.01
    # The stop event never arrives: the engine sees the cache flag, which carries the reason.
    monkeypatch.setattr("core.events.generation_stop", lambda **kwargs: None)
    result = await database_sync_to_async(message_send)(conversation=conversation, content="Hi")
    reply = result.assistant_message
    while not await sync_to_async(engine.is_running)(reply.pk):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)

    await database_sync_to_async(moderation.conversation_close)(
        conversation=conversation, actor=None, reason="Against the rules."
    )
    # Not wait_final: its polling would hold the one thread the engine's writes need here.
    await engine.wait_for_running()
    await database_sync_to_async(reply.refresh_from_db)()
    assert reply.status == Message.Status.STOPPED
    assert reply.status_reason == "Stopped: conversation closed — Against the rules."
    assert 0 < len(reply.content) < len(fake_openai.reply)


def test_close_with_no_engine_alive_marks_the_reply_with_the_reason(conversation):
    prompt = MessageFactory(conversation=conversation, content="Hello")
    reply = MessageFactory(
        conversation=conversation,
        parent=prompt,
        role=Message.Role.ASSISTANT,
        status=Message.Status.IN_PROGRESS,
        content="Half an ans",
    )
    moderation.conversation_close(conversation=conversation, actor=None, reason="Spam.")
    reply.refresh_from_db()
    assert reply.status == Message.Status.STOPPED
    assert reply.status_reason == "Stopped: conversation closed — Spam."
    assert reply.content == "Half an ans"


async def test_header_token_total_is_live_after_a_reply(
    owner, conversation, fake_openai, fast_engine
):
    cookie = await sync_to_async(session_cookie)(owner)
    communicator, connected = await open_socket(f"/ws/chat/{conversation.public_id}/", cookie)
    assert connected
    result = await database_sync_to_async(message_send)(conversation=conversation, content="Hi")
    reply = result.assistant_message
    await engine.wait_for_running()
    reply = await sync_to_async(wait_final)(reply)
    await sync_to_async(conversation.refresh_from_db)()
    assert conversation.token_count > 0
    expected = f">{conversation.token_count:,} tokens</span>"
    while True:
        frame = await communicator.receive_from(timeout=5)
        if 'id="token-total"' in frame and expected in frame:
            break
    await communicator.disconnect()
    assert (
        'hx-swap-oob="true"'
        in frame.split('id="token-total"')[0].rsplit("<span", 1)[1]
        + (frame.split('id="token-total"')[1].split(">", 1)[0])
    )
    assert reply.output_tokens
