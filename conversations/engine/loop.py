"""One reply's run: small tasks, each with one job, around the provider's stream.

The reader takes the tokens in (the only per-token work); the publisher sends what arrived at
most every PUBLISH_INTERVAL; the flusher writes it at most every GENERATION_FLUSH_INTERVAL;
the heartbeat keeps the liveness key; the listener and the silence watch end the reply.
Whichever of reader, stop and silence finishes first decides the final status.
"""

import asyncio
import contextlib
import logging
import time

from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from conversations.engine.db import engine_db
from conversations.engine.state import (
    HEARTBEAT_INTERVAL,
    STOPPED_REASON,
    Generation,
    mark_alive,
    running,
)
from conversations.engine.store import (
    ABANDONED_REASON,
    conversation_save_title,
    reply_finish,
    reply_flush,
    reply_prepare,
    reply_render,
)
from conversations.engine.titles import generate_title
from conversations.llm import ProviderError, TextDelta, Usage, get_provider
from conversations.models import Message
from core import events

logger = logging.getLogger(__name__)

# Frames reach the browser at most this often (seconds): coalesced, never one per token.
PUBLISH_INTERVAL = 0.05

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
    ended = asyncio.Event()
    gen.last_token = time.monotonic()
    reader = asyncio.create_task(_read(stream, gen, arrived))
    stopped = asyncio.create_task(gen.stop.wait())
    silence = asyncio.create_task(_watch_silence(gen))
    publisher = asyncio.create_task(_publish(gen, arrived, ended))
    # These two end on `ended`, never cancelled: a write under way always completes.
    flusher = asyncio.create_task(_flush(gen, db, ended))
    heartbeat = asyncio.create_task(_beat(gen, db, ended))
    try:
        await asyncio.wait(
            {reader, stopped, silence, publisher}, return_when=asyncio.FIRST_COMPLETED
        )
        if gen.stop.is_set():
            return Message.Status.STOPPED, gen.stop_reason
        for task in (reader, silence, publisher):
            if task.done():
                return task.result()
        raise AssertionError("no task ended the reply")  # pragma: no cover
    finally:
        # Cancelling the reader closes the upstream response: a stopped reply stops costing.
        for task in (reader, stopped, silence, publisher):
            task.cancel()
        ended.set()
        await asyncio.gather(reader, stopped, silence, publisher, return_exceptions=True)
        await stream.aclose()
        await asyncio.gather(flusher, heartbeat, return_exceptions=True)


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


async def _publish(gen: Generation, arrived: asyncio.Event, ended: asyncio.Event) -> None:
    """Send what changed to the conversation's group, at most every PUBLISH_INTERVAL.

    The frame is rendered here once for every socket: closed blocks once, the tail each time.
    """
    layer = get_channel_layer()
    group = events.conversation_group(gen.conversation_public_id)
    published = gen.prefix  # the raw text already sent, for clients of the text (SSE)
    while True:
        await arrived.wait()
        arrived.clear()
        text = gen.text
        frame = gen.renderer.feed(text)
        start = len(published) if text.startswith(published) else 0
        await layer.group_send(
            group,
            events.generation_delta_event(
                message_public_id=gen.public_id,
                frame=frame,
                text_start=start,
                text_delta=text[start:],
            ),
        )
        published = text
        if await _pause(ended, PUBLISH_INTERVAL):
            return


async def _flush(gen: Generation, db, ended: asyncio.Event) -> None:
    """Write new partial text every flush interval; set gen.stop if the reply must stop.

    The write runs beside the stream, never holding up its tokens; while one is still queued
    for the database, the next waits (fewer writes under load).
    """
    interval = settings.GENERATION_FLUSH_INTERVAL
    written = len(gen.prefix)  # a continued reply's stored text is not written again
    last = time.monotonic()
    while not await _pause(ended, last + interval - time.monotonic()):
        last = time.monotonic()
        text = gen.text if len(gen.text) > written else None
        try:
            keep_going = await db(reply_flush)(gen, text)
        except Exception as exc:  # noqa: BLE001 - the final write still stores the text
            logger.warning("Could not write the partial reply %s: %s", gen.public_id, exc)
            continue
        if text is not None:
            written = len(text)
        if not keep_going:
            gen.stop.set()
            return


async def _beat(gen: Generation, db, ended: asyncio.Event) -> None:
    """Refresh the reply's liveness key every HEARTBEAT_INTERVAL."""
    while not await _pause(ended, HEARTBEAT_INTERVAL):
        try:
            await db(mark_alive)(gen.message_id)
        except Exception as exc:  # noqa: BLE001 - a missed beat is retried at the next one
            logger.warning("Could not refresh the heartbeat of %s: %s", gen.public_id, exc)


async def _pause(ended: asyncio.Event, seconds: float) -> bool:
    """Sleep for `seconds` unless the reply ends first; return True if it ended."""
    if seconds > 0 and not ended.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ended.wait(), seconds)
    return ended.is_set()


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
    final_status = await db(reply_finish)(gen, status, reason)
    logger.info(
        "Reply %s ended %s: %d chars, %d database writes, %.2fs",
        gen.public_id,
        final_status,
        len(gen.text),
        gen.flushes,
        time.monotonic() - gen.started,
    )
    try:
        html = await db(reply_render)(gen)
    except Exception:  # noqa: BLE001 - sockets then load the stored reply themselves
        logger.exception("Could not render the final frame of %s", gen.public_id)
        html = ""
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
