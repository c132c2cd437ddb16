"""The websocket door: ownership, streamed frames, final frame, other tabs, logout."""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.test import Client

from conversations import engine
from conversations.models import Message
from conversations.services import message_send
from core import events
from tests.engine.conftest import frames_until, open_socket, session_cookie, wait_final
from tests.engine.test_stream_frames import frame_parts, frame_reply_ids
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def is_final(public_id: str):
    return lambda frame: (
        f'id="message-{public_id}"' in frame and 'data-status="in_progress"' not in frame
    )


async def send(conversation, content="Tell me something", **kwargs):
    return await database_sync_to_async(message_send)(
        conversation=conversation, content=content, **kwargs
    )


async def test_anonymous_socket_is_refused(conversation):
    communicator, connected = await open_socket(f"/ws/chat/{conversation.public_id}/")
    assert not connected
    await communicator.disconnect()


async def test_foreign_and_missing_conversations_are_refused_alike(owner, outsider, conversation):
    cookie = await sync_to_async(session_cookie)(outsider)
    for public_id in (conversation.public_id, "conv_missing"):
        communicator, connected = await open_socket(f"/ws/chat/{public_id}/", cookie)
        assert not connected
        await communicator.disconnect()


async def test_reply_streams_in_coalesced_frames_and_ends_with_final_frame(
    owner, conversation, fake_openai, fast_engine
):
    fake_openai.tokens = [f" word{i}" for i in range(60)]
    fake_openai.token_delay = 0.005
    cookie = await sync_to_async(session_cookie)(owner)
    communicator, connected = await open_socket(f"/ws/chat/{conversation.public_id}/", cookie)
    assert connected
    result = await send(conversation)
    reply = result.assistant_message
    frames = await frames_until(communicator, is_final(reply.public_id))
    await engine.wait_for_running()
    await communicator.disconnect()

    created, *streamed = frames
    assert f"message-{result.user_message.public_id}" in created
    assert "beforeend:#message-list" in created
    # Frames are coalesced: far fewer than one per token, each the same partial.
    assert 1 <= len(streamed) < len(fake_openai.tokens) / 2
    *partial, final = streamed
    assert set(frame_reply_ids(partial)) == {reply.public_id}
    # Frames that close no block are text, each a few bytes around what it adds.
    tails = [f for f in partial if frame_parts(f)["kind"] == "tail"]
    assert tails and all(
        len(f.encode()) < len(frame_parts(f)["delta"].encode()) + 80 for f in tails
    )
    # The first names the reply and defines the socket's alias for it; the others use it.
    names = [(frame_parts(f)["name"], frame_parts(f)["alias"]) for f in tails]
    assert names[0] == (reply.public_id, "1")
    assert set(names[1:]) == {("1", None)}
    assert all(len(f.encode()) < len(frame_parts(f)["delta"].encode()) + 20 for f in tails[1:])
    assert f"message-{reply.public_id}" in final
    assert "word59" in final and 'data-status="completed"' in final
    await sync_to_async(reply.refresh_from_db)()
    assert reply.status == Message.Status.COMPLETED
    assert reply.content == fake_openai.reply


async def test_second_tab_sees_new_messages_and_the_same_stream(
    owner, conversation, fake_openai, fast_engine
):
    cookie = await sync_to_async(session_cookie)(owner)
    path = f"/ws/chat/{conversation.public_id}/"
    first, _ = await open_socket(path, cookie)
    second, _ = await open_socket(path, cookie)
    result = await send(conversation, "From tab one")
    reply_id = result.assistant_message.public_id
    frames_one = await frames_until(first, is_final(reply_id))
    frames_two = await frames_until(second, is_final(reply_id))
    await engine.wait_for_running()
    await first.disconnect()
    await second.disconnect()
    for frames in (frames_one, frames_two):
        assert "From tab one" in frames[0]
        # Appended only where the tab does not show it yet (the sending tab does; app.js
        # drops a batch marked data-append-once whose first message is on the page).
        assert 'hx-swap-oob="beforeend:#message-list" data-append-once' in frames[0]
        assert "fake reply" in frames[-1], frames


async def test_reconnecting_tab_gets_stored_partial_then_continues_live(
    owner, conversation, fake_openai, fast_engine
):
    fake_openai.tokens = [f" t{i}" for i in range(40)]
    fake_openai.token_delay = 0.03
    cookie = await sync_to_async(session_cookie)(owner)
    path = f"/ws/chat/{conversation.public_id}/"
    first, _ = await open_socket(path, cookie)
    result = await send(conversation)
    reply = result.assistant_message
    await frames_until(first, lambda f: " t5" in f)
    # Closing the tab does not stop the reply.
    await first.disconnect()
    await frames_reached_database(reply, " t10")

    again, connected = await open_socket(path, cookie)
    assert connected
    stored = await again.receive_from(timeout=5)
    assert f'id="message-{reply.public_id}"' in stored and " t10" in stored
    frames = await frames_until(again, is_final(reply.public_id))
    await engine.wait_for_running()
    await again.disconnect()
    assert " t39" in frames[-1]
    await sync_to_async(reply.refresh_from_db)()
    assert reply.status == Message.Status.COMPLETED
    assert reply.content == fake_openai.reply


async def frames_reached_database(reply, text: str):
    import asyncio

    for _ in range(200):
        await sync_to_async(reply.refresh_from_db)()
        if text in reply.content:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("partial text never reached the database")


async def test_sidebar_change_sends_refresh_element_to_every_socket_of_the_user(owner):
    cookie = await sync_to_async(session_cookie)(owner)
    communicator, connected = await open_socket("/ws/chat/", cookie)
    assert connected
    await events.apublish(
        events.user_group(owner.pk),
        {"type": "sidebar.changed", "conversation_id": "conv_x", "action": "renamed"},
    )
    frame = await communicator.receive_from(timeout=5)
    await communicator.disconnect()
    assert 'id="sidebar-refresh"' in frame and 'hx-trigger="load"' in frame


async def test_socket_of_a_session_receives_nothing_after_logout(owner, conversation):
    cookie = await sync_to_async(session_cookie)(owner)
    communicator, connected = await open_socket(f"/ws/chat/{conversation.public_id}/", cookie)
    assert connected

    def logout():
        client = Client()
        name, value = cookie.split("=", 1)
        client.cookies[name] = value
        client.logout()

    await sync_to_async(logout)()
    closed = await communicator.receive_output(timeout=5)
    assert closed["type"] == "websocket.close"
    await events.apublish(
        events.user_group(owner.pk),
        {"type": "sidebar.changed", "conversation_id": "conv_x", "action": "renamed"},
    )
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()
    # The session is gone, so a new socket is refused.
    again, connected = await open_socket(f"/ws/chat/{conversation.public_id}/", cookie)
    assert not connected
    await again.disconnect()


async def test_socket_only_relays_events_of_its_own_conversation(owner, fake_openai, fast_engine):
    mine = await sync_to_async(ConversationFactory)(owner=owner)
    other = await sync_to_async(ConversationFactory)(owner=owner)
    cookie = await sync_to_async(session_cookie)(owner)
    communicator, _ = await open_socket(f"/ws/chat/{mine.public_id}/", cookie)
    result = await send(other)
    await engine.wait_for_running()
    await sync_to_async(wait_final)(result.assistant_message)
    frames = []
    while not await communicator.receive_nothing(timeout=0.2):
        frames.append(await communicator.receive_from())
    await communicator.disconnect()
    # Only the user-wide sidebar refreshes arrive, never the other conversation's messages.
    assert frames and all('id="sidebar-refresh"' in f for f in frames)


async def test_regenerate_in_another_tab_replaces_the_old_version(
    owner, conversation, fake_openai, fast_engine
):
    from conversations.services import message_regenerate

    first = await send(conversation, "Question")
    await engine.wait_for_running()
    cookie = await sync_to_async(session_cookie)(owner)
    communicator, _ = await open_socket(f"/ws/chat/{conversation.public_id}/", cookie)
    old = first.assistant_message
    result = await database_sync_to_async(message_regenerate)(message=old)
    frames = await frames_until(communicator, is_final(result.assistant_message.public_id))
    await engine.wait_for_running()
    await communicator.disconnect()
    created = frames[0]
    # app.js removes the old version and what follows it, then appends the new one.
    assert f'data-append-once data-replaces="message-{old.public_id}"' in created
    assert "2/2" in frames[-1]  # the arrows show the new version's place


async def test_branch_switch_in_another_tab_refetches_the_thread(
    owner, conversation, fake_openai, fast_engine
):
    from conversations.services import conversation_switch_branch, message_regenerate

    first = await send(conversation, "Question")
    await engine.wait_for_running()
    await database_sync_to_async(message_regenerate)(message=first.assistant_message)
    await engine.wait_for_running()
    cookie = await sync_to_async(session_cookie)(owner)
    communicator, _ = await open_socket(f"/ws/chat/{conversation.public_id}/", cookie)
    await database_sync_to_async(conversation_switch_branch)(
        conversation=conversation, message=first.assistant_message
    )
    frames = await frames_until(communicator, lambda f: "thread-refresh" in f)
    await communicator.disconnect()
    assert f'hx-get="/c/{conversation.public_id}/"' in frames[-1]
    assert 'hx-select="#message-list"' in frames[-1]


# The consumer's loop (ChatConsumer.__call__): one reader per source of events ------------


async def test_handlers_run_one_at_a_time_in_the_order_events_came(owner, monkeypatch):
    import asyncio

    from conversations.consumers import ChatConsumer

    running, seen, release = [0], [], asyncio.Event()
    most = [0]
    original = ChatConsumer.sidebar_changed

    async def slow(self, event):
        running[0] += 1
        most[0] = max(most[0], running[0])
        seen.append(event["action"])
        if event["action"] == "first":
            await release.wait()
        await original(self, event)
        running[0] -= 1

    async def receive(self, text_data=None, bytes_data=None):
        running[0] += 1
        most[0] = max(most[0], running[0])
        seen.append(text_data)
        running[0] -= 1

    monkeypatch.setattr(ChatConsumer, "sidebar_changed", slow)
    monkeypatch.setattr(ChatConsumer, "receive", receive)
    cookie = await sync_to_async(session_cookie)(owner)
    communicator, connected = await open_socket("/ws/chat/", cookie)
    assert connected
    group = events.user_group(owner.pk)
    for action in ("first", "second", "third"):
        await events.apublish(group, {"type": "sidebar.changed", "action": action})
    # The first handler is still waiting: the others are held, not run beside it.
    assert await communicator.receive_nothing(timeout=0.2)
    assert seen == ["first"]
    # A client's message, from the other source, waits its turn too.
    await communicator.send_to(text_data="hello")
    assert await communicator.receive_nothing(timeout=0.2)
    assert seen == ["first"]
    release.set()
    frames = [await communicator.receive_from(timeout=5) for _ in range(3)]
    await communicator.disconnect()
    assert seen[0] == "first" and sorted(seen[1:]) == ["hello", "second", "third"]
    assert most[0] == 1
    assert all('id="sidebar-refresh"' in frame for frame in frames)


async def test_a_disconnect_ends_the_consumer_and_leaves_its_groups(owner):
    from channels.layers import get_channel_layer

    cookie = await sync_to_async(session_cookie)(owner)
    communicator, connected = await open_socket("/ws/chat/", cookie)
    assert connected
    await communicator.disconnect()
    # The application returned by itself (StopConsumer), it was not cancelled.
    assert communicator.future.done() and not communicator.future.cancelled()
    assert communicator.future.exception() is None
    layer = get_channel_layer()
    if hasattr(layer, "groups"):  # the in-memory layer: nobody is left in the user's group
        assert not layer.groups.get(events.user_group(owner.pk))


async def test_an_error_in_an_event_handler_ends_the_consumer_with_that_error(owner):
    cookie = await sync_to_async(session_cookie)(owner)
    communicator, connected = await open_socket("/ws/chat/", cookie)
    assert connected
    await events.apublish(events.user_group(owner.pk), {"type": "no.such.event"})
    with pytest.raises(ValueError, match="No handler for message type no.such.event"):
        await communicator.wait(timeout=5)
