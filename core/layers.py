"""The Redis channel layer: channels-redis' pub/sub layer, its publishes sent in pipelines.

channels-redis' RedisPubSubChannelLayer makes a group send one PUBLISH, and each process reads
every event on one subscribed connection (the list-based RedisChannelLayer pops one event per
round trip, which capped a process near 2,000 events a second). But it sends each PUBLISH
alone, under one lock per Redis host: a process sends one event per round trip, and under
load a round trip lasts a whole turn of the event loop. With a hundred replies streaming,
frames waited there for seconds. Here the publishes that queue up meanwhile go out together,
in one pipeline, in the order they were made, on a connection of their own (not behind a
subscribe); each sender still returns once its event has reached Redis, as before.

And an event for sockets of this process is handed to them at once, not after its round trip
through Redis: under load every hop between tasks waits a whole turn of a busy event loop,
and a frame's way out and back through Redis was two to three of the eight or so hops from
a token's arrival to its socket (bench/README.md, Streams). It is still published, marked
with its sender, for the other processes; the sender's own subscription skips it when it
comes back.
"""

import asyncio
import uuid

from channels_redis import pubsub
from channels_redis.utils import _wrap_close

# Seconds the subscribed connection's read waits before it lets a subscribe through.
RECEIVE_POLL = 0.01

# What starts an event published by this layer: then the id of the layer that sent it. No
# serialized event starts with a zero byte (msgpack maps start at 0x80, encrypted ones are
# base64), so events of a layer without the mark are still read as they are.
MARK = b"\x00from:"
SENDER_BYTES = 16


class _PipelinedShard(pubsub.RedisSingleShardConnection):
    def __init__(self, host, channel_layer):
        super().__init__(host, channel_layer)
        self._outbox: list[tuple[str, bytes, asyncio.Future]] = []
        self._sender: asyncio.Task | None = None

    async def publish(self, channel, message):
        done = asyncio.get_running_loop().create_future()
        self._outbox.append((channel, message, done))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._send_outbox())
        await done

    async def _send_outbox(self) -> None:
        while self._outbox:
            batch, self._outbox = self._outbox, []
            try:
                # Not under the shard's lock: a subscribe holds it until the subscribed
                # connection's pending read returns (up to 0.1 s), and frames must not wait.
                # The pipeline takes a pooled connection of its own.
                self._ensure_redis()
                pipe = self._redis.pipeline(transaction=False)
                for channel, message, _ in batch:
                    pipe.publish(channel, message)
                await pipe.execute()
            except Exception as exc:  # noqa: BLE001 - each sender gets the error
                for *_, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for *_, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _do_receiving(self):
        # As channels-redis does, but the read gives way every 10 ms, not every 0.1 s: a
        # subscribe (every reply's engine makes one) waits for the read to give way, and
        # frames waited with it. A read that never gives way would hold subscribes forever.
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=RECEIVE_POLL
                    )
                    self._receive_message(message)
                else:
                    await asyncio.sleep(0.01)
            except (TimeoutError, asyncio.CancelledError, GeneratorExit):
                raise
            except BaseException:
                pubsub.logger.exception("Unexpected exception in receive task")
                await asyncio.sleep(1)

    def _receive_message(self, message):
        if message is not None:
            data = message["data"]
            if data.startswith(MARK):
                sender = data[len(MARK) : len(MARK) + SENDER_BYTES]
                if sender == self.channel_layer.sender:
                    return  # handed to this layer's own sockets when it was sent
                message = {**message, "data": data[len(MARK) + SENDER_BYTES :]}
        super()._receive_message(message)

    async def flush(self):
        if self._sender is not None:
            self._sender.cancel()
            self._sender = None
        self._outbox = []
        await super().flush()


class _LoopLayer(pubsub.RedisPubSubLoopLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._shards = [_PipelinedShard(shard.host, self) for shard in self._shards]
        self.sender = uuid.uuid4().bytes

    async def send(self, channel, message):
        queue = self.channels.get(channel)
        if queue is not None:
            # A specific channel lives in one process: this one, so Redis is not needed.
            queue.put_nowait(self.channel_layer.serialize(message))
            return
        await super().send(channel, message)

    async def group_send(self, group, message):
        group_channel = self._get_group_channel_name(group)
        data = self.channel_layer.serialize(message)
        for name in self.groups.get(group_channel, ()):
            queue = self.channels.get(name)
            if queue is not None:
                queue.put_nowait(data)
        shard = self._get_shard(group_channel)
        await shard.publish(group_channel, MARK + self.sender + data)


class RedisPubSubChannelLayer(pubsub.RedisPubSubChannelLayer):
    def _get_layer(self):
        # As channels-redis does (one layer per event loop), with pipelined publishes.
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return layer
