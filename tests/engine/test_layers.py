"""The Redis channel layer (core.layers): this process's sockets get an event at once, other
processes through Redis, each exactly once, and events without the sender's mark still arrive."""

import asyncio
import os
import uuid

import pytest
from channels_redis import pubsub

from core import layers
from tests.engine.test_stream_frames import REDIS_TEST_URL, redis_reachable

pytestmark = pytest.mark.skipif(not redis_reachable(), reason="Redis is not running")

EVENT = {"type": "generation.delta", "seq": 1, "html": "<p>x</p>"}


@pytest.fixture
def prefix():
    return f"test-layers-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def layer(prefix, cls=layers.RedisPubSubChannelLayer):
    """A layer as one process has it (two of them: two processes on one Redis)."""
    return cls(hosts=[REDIS_TEST_URL], prefix=prefix)


async def joined(channel_layer, group: str) -> str:
    channel = await channel_layer.new_channel()
    await channel_layer.group_add(group, channel)
    return channel


async def nothing_more(channel_layer, channel: str, seconds: float = 0.3) -> bool:
    try:
        await asyncio.wait_for(channel_layer.receive(channel), seconds)
    except TimeoutError:
        return True
    return False


async def test_group_event_reaches_each_process_once(prefix):
    here, there = layer(prefix), layer(prefix)
    mine, theirs = await joined(here, "chat"), await joined(there, "chat")
    await asyncio.sleep(0.1)  # both subscriptions are in place
    await here.group_send("chat", EVENT)
    assert await asyncio.wait_for(here.receive(mine), 2) == EVENT
    assert await asyncio.wait_for(there.receive(theirs), 2) == EVENT
    # The sender's own copy coming back through Redis is skipped, not delivered twice.
    assert await nothing_more(here, mine)
    assert await nothing_more(there, theirs)
    await here.flush()
    await there.flush()


async def test_local_sockets_do_not_wait_for_redis(prefix, monkeypatch):
    here = layer(prefix)
    mine = await joined(here, "chat")
    direct = await here.new_channel()
    never = asyncio.Event()

    async def stuck_publish(self, channel, message):
        await never.wait()  # Redis never answers

    monkeypatch.setattr(layers._PipelinedShard, "publish", stuck_publish)
    sending = asyncio.ensure_future(here.group_send("chat", EVENT))
    assert await asyncio.wait_for(here.receive(mine), 1) == EVENT
    # A specific channel of this process is not sent through Redis at all.
    await asyncio.wait_for(here.send(direct, {"type": "generation.frame"}), 1)
    assert await asyncio.wait_for(here.receive(direct), 1) == {"type": "generation.frame"}
    sending.cancel()
    monkeypatch.undo()
    await here.flush()


async def test_events_without_the_mark_are_delivered(prefix):
    # A process running channels-redis's own layer (an older deploy) publishes unmarked events.
    here, plain = layer(prefix), layer(prefix, pubsub.RedisPubSubChannelLayer)
    mine = await joined(here, "chat")
    await asyncio.sleep(0.1)
    await plain.group_send("chat", EVENT)
    assert await asyncio.wait_for(here.receive(mine), 2) == EVENT
    await here.flush()
    await plain.flush()
