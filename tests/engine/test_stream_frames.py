"""The frame protocol: blocks appended once, the tail replaced, the final frame a page render,
no query on the stream path, and a lost frame resynced (in memory and on Redis)."""

import asyncio
import html
import itertools
import os
import re
import statistics

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.test import Client

from conversations import consumers, engine
from conversations.engine import loop
from conversations.models import Message
from conversations.rendering import render_markdown
from conversations.services import message_send
from tests.engine.conftest import frames_until, open_socket, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

# A frame: the closed blocks it appends (or the whole state it replaces), then the tail; a
# frame that closes no block is the tail alone.
FRAME_RE = re.compile(
    r'(?:<div id="message-(?P<id>[\w-]+)" data-status="in_progress" data-frame="(?P<kind>\w+)" '
    r'data-seq="(?P<seq>\d+)" hx-swap-oob="[^"]+">(?P<blocks>.*?)</div>)?'
    r'<div data-frame="tail" data-seq="(?P<tail_seq>\d+)" data-keep="(?P<keep>\d+)" '
    r'data-delta="(?P<delta>[^"]*)" hx-swap-oob="innerHTML:#message-(?P<tail_id>[\w-]+)-tail">'
    r"</div>$",
    re.DOTALL,
)


# A frame that closes no block: a line of text, the reply named by the socket's alias (its
# first use defines it: "<public id>=<alias>"), then the delta with no HTML around it.
TAIL_FRAME_RE = re.compile(
    r"@tail (?P<id>[\w-]+?)(?:=(?P<alias>\d+))? (?P<seq>\d+) (?P<keep>\d+)\n(?P<delta>.*)$",
    re.DOTALL,
)


def frame_parts(frame: str) -> dict:
    """Return a frame's kind ("append", "replace" or "tail"), seq, blocks and tail delta."""
    if match := TAIL_FRAME_RE.match(frame):
        return {
            "kind": "tail",
            "name": match["id"],
            "alias": match["alias"],
            "seq": int(match["seq"]),
            "blocks": "",
            "keep": int(match["keep"]),
            "delta": match["delta"],
        }
    match = FRAME_RE.match(frame)
    assert match and match["kind"], frame  # an HTML frame always closes blocks
    assert match["seq"] == match["tail_seq"] and match["id"] == match["tail_id"], frame
    return {
        "kind": match["kind"],
        "name": match["id"],
        "alias": None,
        "seq": int(match["tail_seq"]),
        "blocks": match["blocks"],
        "keep": int(match["keep"]),
        "delta": html.unescape(match["delta"]),
    }


def frame_reply_ids(frames: list[str]) -> list[str]:
    """Return the public id of the reply each frame of one socket is for (aliases resolved)."""
    aliases, ids = {}, []
    for frame in frames:
        part = frame_parts(frame)
        if part["alias"]:
            aliases[part["alias"]] = part["name"]
        ids.append(aliases.get(part["name"], part["name"]))
    return ids


CSRF_VALUE_RE = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*"')
PARAGRAPHS = [f"Paragraph {i} says something about item {i}." for i in range(8)]


def is_final(public_id: str):
    return lambda frame: (
        frame.lstrip().startswith(f'<article id="message-{public_id}"')
        and ('data-status="in_progress"' not in frame)
    )


def paragraph_tokens() -> list[str]:
    """Tokens of a reply in several paragraphs, a few words each."""
    tokens = []
    for paragraph in PARAGRAPHS:
        tokens += [f"{word} " for word in paragraph.split()] + ["\n\n"]
    return tokens


def apply(frames: list[str]) -> tuple[str, str, list[int]]:
    """Play streamed frames as the page does; return (blocks HTML, tail HTML, seqs)."""
    blocks, tail, seqs = "", "", []
    for frame in frames:
        part = frame_parts(frame)
        seqs.append(part["seq"])
        blocks = part["blocks"] if part["kind"] == "replace" else blocks + part["blocks"]
        # As app.js does: keep UTF-16 units of the last tail, add the delta.
        kept = tail.encode("utf-16-le")[: 2 * part["keep"]].decode("utf-16-le")
        tail = kept + part["delta"]
    return blocks, tail, seqs


async def stream(owner, conversation, fake_openai, tokens, delay=0.01):
    fake_openai.tokens = tokens
    fake_openai.token_delay = delay
    cookie = await sync_to_async(session_cookie)(owner)
    communicator, connected = await open_socket(f"/ws/chat/{conversation.public_id}/", cookie)
    assert connected
    result = await database_sync_to_async(message_send)(conversation=conversation, content="Hi")
    reply = result.assistant_message
    frames = await frames_until(communicator, is_final(reply.public_id))
    await engine.wait_for_running()
    await communicator.disconnect()
    return reply, frames[1:-1], frames[-1].strip()


async def test_closed_blocks_are_appended_once_and_the_tail_replaced(
    owner, conversation, fake_openai, fast_engine
):
    reply, streamed, final = await stream(owner, conversation, fake_openai, paragraph_tokens())
    blocks, tail, seqs = apply(streamed)
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # Every paragraph shown exactly once, whether closed (appended) or in the tail.
    shown = blocks + tail
    for paragraph in PARAGRAPHS:
        assert shown.count(paragraph) <= 1
    assert shown.count("<p>") >= len(PARAGRAPHS) - 1
    # Appends only grow: each frame's blocks are a few paragraphs, never the whole reply again.
    appended = [frame_parts(f)["blocks"] for f in streamed]
    # A frame that closes no block carries only the tail.
    parts = [frame_parts(f) for f in streamed]
    assert all(p["blocks"] for p in parts if p["kind"] == "append")
    assert any(p["kind"] == "tail" for p in parts)
    assert sum(len(a) for a in appended) <= len(render_markdown("\n\n".join(PARAGRAPHS))) + 100
    assert 'data-status="completed"' in final
    # The tail travels as deltas: the whole stream costs less than three final frames.
    assert sum(len(frame.encode()) for frame in streamed) <= 3 * len(final.encode())


async def test_final_frame_equals_the_page_render(owner, conversation, fake_openai, fast_engine):
    reply, _, final = await stream(owner, conversation, fake_openai, paragraph_tokens())
    client = Client()
    await sync_to_async(client.force_login)(owner)
    page = (await sync_to_async(client.get)(f"/c/{conversation.public_id}/")).content.decode()
    start = page.index(f'<article id="message-{reply.public_id}"')
    article = page[start : page.index("</article>", start) + len("</article>")]
    assert CSRF_VALUE_RE.sub(r'\1"', final) == CSRF_VALUE_RE.sub(r'\1"', article)


async def test_stream_path_makes_no_database_call_in_the_consumer(
    owner, conversation, fake_openai, fast_engine, monkeypatch
):
    calls = []
    real = consumers.database_sync_to_async

    def counting(func):
        calls.append(getattr(func, "__name__", repr(func)))
        return real(func)

    cookie = await sync_to_async(session_cookie)(owner)
    communicator, _ = await open_socket(f"/ws/chat/{conversation.public_id}/", cookie)
    await communicator.receive_nothing(0.05)
    fake_openai.tokens = paragraph_tokens()
    fake_openai.token_delay = 0.01
    # From the new messages' frame to the final one, the consumer only relays.
    monkeypatch.setattr(consumers, "database_sync_to_async", counting)
    result = await database_sync_to_async(message_send)(conversation=conversation, content="Hi")
    user_id = result.user_message.public_id
    created = await frames_until(communicator, lambda frame: f"message-{user_id}" in frame)
    assert f'id="message-{result.assistant_message.public_id}"' in created[-1]
    frames = await frames_until(communicator, is_final(result.assistant_message.public_id))
    await engine.wait_for_running()
    await communicator.disconnect()
    assert len(frames) > 3
    assert calls == []


class DroppingLayer:
    """The real layer, but one streamed frame of the engine never arrives."""

    def __init__(self, layer, lost_seq: int):
        self.layer = layer
        self.lost_seq = lost_seq
        self.lost = 0

    def __getattr__(self, name):
        return getattr(self.layer, name)

    async def group_send(self, group, event):
        if event.get("type") == "generation.delta" and event["seq"] == self.lost_seq:
            self.lost += 1
            return
        await self.layer.group_send(group, event)


async def resync_after_lost_frame(owner, conversation, fake_openai, monkeypatch, backend):
    real_get = loop.get_channel_layer
    dropping = DroppingLayer(real_get(), lost_seq=3)
    assert type(dropping.layer).__name__ == backend
    monkeypatch.setattr(loop, "get_channel_layer", lambda: dropping)
    reply, streamed, final = await stream(
        owner, conversation, fake_openai, paragraph_tokens(), delay=0.02
    )
    assert dropping.lost == 1
    kinds = [frame_parts(f)["kind"] for f in streamed]
    seqs = [frame_parts(f)["seq"] for f in streamed]
    assert 3 not in seqs
    # The socket saw the gap, asked the engine, and got the whole state in one frame.
    assert "replace" in kinds
    replaced_at = kinds.index("replace")
    assert seqs[replaced_at] >= 4 and all(s > 3 for s in seqs[replaced_at:])
    blocks, tail, _ = apply(streamed)
    shown = blocks + tail
    for paragraph in PARAGRAPHS[:-1]:
        assert shown.count(paragraph) == 1
    await sync_to_async(reply.refresh_from_db)()
    assert reply.status == Message.Status.COMPLETED
    assert 'data-status="completed"' in final and PARAGRAPHS[-1] in final


async def test_lost_frame_is_resynced_in_memory(
    owner, conversation, fake_openai, fast_engine, monkeypatch, settings
):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}
    }
    await resync_after_lost_frame(
        owner, conversation, fake_openai, monkeypatch, "InMemoryChannelLayer"
    )


REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/5")


def redis_reachable() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_TEST_URL, socket_timeout=0.5).ping()
    except Exception:  # noqa: BLE001 - any failure means no Redis here
        return False
    return True


@pytest.mark.skipif(not redis_reachable(), reason="Redis is not running")
async def test_lost_frame_is_resynced_on_redis(
    owner, conversation, fake_openai, fast_engine, monkeypatch, settings
):
    # The layer production runs with Redis (chatbot/settings.py): pub/sub.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "core.layers.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_TEST_URL], "prefix": f"test-stream-{os.getpid()}"},
        }
    }
    await resync_after_lost_frame(
        owner, conversation, fake_openai, monkeypatch, "RedisPubSubChannelLayer"
    )


@pytest.mark.django_db(transaction=False)
@pytest.mark.parametrize("send_takes", [0.03, 0.09])
async def test_frames_are_paced_from_when_they_start_and_never_overlap(monkeypatch, send_takes):
    """The interval runs from a frame's start: a publish's wait for the layer (its Redis
    round trip) does not add to it, and a send slower than the interval holds the next one
    back (one in flight at a time) instead of piling frames up."""
    interval = 0.06
    monkeypatch.setattr(loop, "PUBLISH_INTERVAL", interval)
    starts, in_flight, most_in_flight = [], 0, 0

    async def send_frame(gen):
        nonlocal in_flight, most_in_flight
        starts.append(asyncio.get_running_loop().time())
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        await asyncio.sleep(send_takes)
        in_flight -= 1

    monkeypatch.setattr(loop, "_send_frame", send_frame)
    arrived = asyncio.Event()
    publisher = asyncio.create_task(loop._publish(None, arrived))
    for _ in range(150):  # a token every 5 ms for 0.75 s
        arrived.set()
        await asyncio.sleep(0.005)
    publisher.cancel()
    gaps = sorted(b - a for a, b in itertools.pairwise(starts))
    assert most_in_flight == 1
    assert gaps[0] >= max(interval, send_takes) - 0.005
    # The old pacing (the interval after the send was done) gives interval + send_takes.
    assert statistics.median(gaps) < max(interval, send_takes) + min(interval, send_takes) / 2
