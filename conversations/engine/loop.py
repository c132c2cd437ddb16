"""One reply's run: small tasks, each with one job, around the provider's stream.

The reader takes the tokens in (the only per-token work); the publisher sends what arrived,
frames starting at most every PUBLISH_INTERVAL; the process's flusher (flusher.py) writes it,
with every other reply's, at most every GENERATION_FLUSH_INTERVAL, and keeps their liveness
keys; the listener and the silence watch end the reply.
Whichever of reader, stop and silence finishes first decides the final status.
"""

import asyncio
import contextlib
import logging
import time

from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from conversations.engine.blocks import frame_html
from conversations.engine.db import engine_db
from conversations.engine.flusher import flusher_for
from conversations.engine.state import (
    STOPPED_REASON,
    Generation,
    running,
)
from conversations.engine.store import (
    ABANDONED_REASON,
    conversation_save_title,
    reply_finish,
    reply_prepare,
)
from conversations.engine.titles import generate_title
from conversations.llm import ProviderError, TextDelta, Usage, get_provider
from conversations.models import Message
from core import events

logger = logging.getLogger(__name__)

# Frames reach the browser at most this often (seconds): coalesced, never one per token.
PUBLISH_INTERVAL = settings.GENERATION_PUBLISH_INTERVAL

Outcome = tuple[str, str]


async def run_generation(message_id: int, *, db=engine_db, time_zone: str | None = None) -> None:
    """Generate one reply and leave its row in a final status.

    `time_zone` is the zone of whoever asked for the reply (core.timezone): the final frame,
    rendered once here, shows the times a page load in their browser shows.
    """
    with timezone.override(time_zone):
        await _generate(message_id, db)


async def _generate(message_id: int, db) -> None:
    gen = await db(reply_prepare)(message_id)
    if gen is None:
        return
    running[message_id] = gen
    listener = asyncio.create_task(_listen_for_stop(gen))
    status, reason = Message.Status.FAILED, "The reply could not be generated."
    try:
        status, reason = await _stream(gen, db)
    except asyncio.CancelledError:
        status, reason = Message.Status.INCOMPLETE, ABANDONED_REASON
        await asyncio.shield(_end(gen, db, status, reason))
        raise
    except Exception:
        logger.exception("Generation of message %s failed", gen.public_id)
        status = Message.Status.INCOMPLETE if gen.text else Message.Status.FAILED
        reason = "The reply broke off because of a server error."
    finally:
        listener.cancel()
        running.pop(message_id, None)
    await _end(gen, db, status, reason)
    if status == Message.Status.COMPLETED and gen.title_source:
        await _give_title(gen, db)


async def _stream(gen: Generation, db) -> Outcome:
    """Run the reply's tasks until one decides how it ends; return (final status, reason)."""
    stream = get_provider(gen.model).stream(gen.context)
    arrived = asyncio.Event()
    gen.last_token = time.monotonic()
    reader = asyncio.create_task(_read(stream, gen, arrived))
    stopped = asyncio.create_task(gen.stop.wait())
    silence = asyncio.create_task(_watch_silence(gen))
    publisher = asyncio.create_task(_publish(gen, arrived))
    # The process's one writer of partial text and liveness keys; it sets gen.stop if the
    # reply must stop.
    flusher = flusher_for(db)
    flusher.add(gen)
    try:
        await asyncio.wait(
            {reader, stopped, silence, publisher}, return_when=asyncio.FIRST_COMPLETED
        )
        if gen.stop.is_set():
            return Message.Status.STOPPED, gen.stop_reason
        if reader.done() and gen.text:
            # The last tokens go out now, not with the final frame after the reply's write.
            publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publisher
            await _send_frame(gen)
        for task in (reader, silence, publisher):
            if task.done() and not task.cancelled():
                return task.result()
        raise AssertionError("no task ended the reply")  # pragma: no cover
    finally:
        # Cancelling the reader closes the upstream response: a stopped reply stops costing.
        for task in (reader, stopped, silence, publisher):
            task.cancel()
        await asyncio.gather(reader, stopped, silence, publisher, return_exceptions=True)
        await stream.aclose()
        await flusher.discard(gen)


async def _read(stream, gen: Generation, arrived: asyncio.Event) -> Outcome:
    """Append the provider's deltas to gen.text as they come; return how the stream ended."""
    try:
        async for item in stream:
            if isinstance(item, TextDelta):
                gen.text += item.text
                gen.last_token = time.monotonic()
                arrived.set()
            elif isinstance(item, Usage):
                gen.usage = item
    except ProviderError as error:
        status = Message.Status.INCOMPLETE if gen.text else Message.Status.FAILED
        return status, error.reason
    return Message.Status.COMPLETED, ""


async def _watch_silence(gen: Generation) -> Outcome:
    """Return once no token arrived for GENERATION_TIMEOUT seconds."""
    timeout = settings.GENERATION_TIMEOUT
    while (remaining := gen.last_token + timeout - time.monotonic()) > 0:
        await asyncio.sleep(remaining)
    return Message.Status.INCOMPLETE, f"No reply from the model for {timeout:g} seconds."


async def _publish(gen: Generation, arrived: asyncio.Event) -> None:
    """Send what changed to the conversation's group, a frame at most every PUBLISH_INTERVAL.

    The interval runs from when a frame starts, not from when the layer has taken it: a
    publish waits for its Redis round trip, and under load that wait added to the interval
    made frames (and what they show) late. A send that takes longer than the interval holds
    the next frame back, so a loop that is behind sends fewer frames of more tokens each.
    """
    while True:
        await arrived.wait()
        arrived.clear()
        began = time.monotonic()
        await _send_frame(gen)
        if (wait := began + PUBLISH_INTERVAL - time.monotonic()) > 0:
            await asyncio.sleep(wait)


async def _send_frame(gen: Generation) -> None:
    """Send the text that arrived since the last frame, if any, as one frame.

    The frame is rendered here once for every socket: closed blocks once, the tail each time.
    """
    text, published = gen.text, gen.published
    if text == published and gen.renderer.seq:
        return
    frame = gen.renderer.feed(text)
    start = len(published) if text.startswith(published) else 0
    # A frame that closes blocks is rendered here once for every socket; one that does not
    # is a line of text each socket writes with its own alias of the reply.
    html = ""
    if frame.append_html or frame.reset:
        html = frame_html(
            gen.public_id,
            seq=frame.seq,
            append=frame.append_html,
            replace=frame.reset,
            keep=frame.tail_keep,
            delta=frame.tail_delta,
        )
    gen.published = text
    await get_channel_layer().group_send(
        events.conversation_group(gen.conversation_public_id),
        events.generation_delta_event(
            message_public_id=gen.public_id,
            frame=frame,
            text_start=start,
            text_delta=text[start:],
            html=html,
        ),
    )


async def _listen_for_stop(gen: Generation) -> None:
    """Set gen.stop on a stop request from any process; answer sockets that ask to resync."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    group = events.generation_group(gen.public_id)
    await layer.group_add(group, channel)
    try:
        while True:
            event = await layer.receive(channel)
            if event.get("type") == "generation.stop":
                gen.stop_reason = event.get("reason") or STOPPED_REASON
                gen.stop.set()
                return
            if event.get("type") == "generation.resync" and event.get("channel"):
                renderer = gen.renderer
                await layer.send(
                    event["channel"],
                    events.generation_frame_event(
                        message_public_id=gen.public_id,
                        seq=renderer.seq,
                        blocks_html=renderer.closed_html,
                        tail_html=renderer.tail_html,
                    ),
                )
    finally:
        await asyncio.shield(layer.group_discard(group, channel))


async def _end(gen: Generation, db, status: str, reason: str) -> None:
    final_status, html = await db(reply_finish)(gen, status, reason)
    logger.info(
        "Reply %s ended %s: %d chars, %d database writes, %.2fs",
        gen.public_id,
        final_status,
        len(gen.text),
        gen.flushes,
        time.monotonic() - gen.started,
    )
    await events.apublish(
        events.conversation_group(gen.conversation_public_id),
        events.generation_done_event(
            message_public_id=gen.public_id, status=final_status, html=html
        ),
    )


async def _give_title(gen: Generation, db) -> None:
    title = await generate_title(gen.title_source)
    if await db(conversation_save_title)(gen.conversation_id, title):
        await events.apublish(
            events.user_group(gen.owner_id),
            events.sidebar_changed_event(
                conversation_public_id=gen.conversation_public_id, action="titled"
            ),
        )
