"""Generate assistant replies detached from any socket or request.

A reply is a Message row `in_progress`. The engine builds the context from the database,
streams from the provider, publishes the text to the conversation's group at most every
PUBLISH_INTERVAL, writes it to the row at most every GENERATION_FLUSH_INTERVAL and once at
the end, and leaves the row in exactly one final status.
"""

import asyncio
import contextvars
import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from asgiref.sync import SyncToAsync, async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.utils import timezone

from conversations.llm.base import (
    ChatMessage,
    ProviderError,
    TextDelta,
    Usage,
    estimate_tokens,
    get_provider,
)
from conversations.llm.openai import close_client
from conversations.llm.titles import generate_title
from conversations.models import Conversation, Message
from conversations.selectors import message_path
from conversations.services import make_preview
from core import events

logger = logging.getLogger(__name__)

# Frames reach the browser at most this often (seconds): coalesced, never one per token.
PUBLISH_INTERVAL = 0.05
# A generation refreshes its liveness key this often; other processes read it on Stop.
HEARTBEAT_INTERVAL = 5.0
# Threads (each with its own open connection) writing replies on PostgreSQL.
ENGINE_DB_THREADS = 4
# Tokens counted for each message's framing in the context, on top of its text.
MESSAGE_OVERHEAD_TOKENS = 4

STOPPED_REASON = "Stopped by user."

# Strong references to running generations: the loop keeps only weak ones to tasks.
_tasks: set[asyncio.Task] = set()
# Generations running in this process, by message pk.
_running: dict[int, "Generation"] = {}


def alive_key(message_id: int) -> str:
    return f"generation:alive:{message_id}"


def stop_key(message_id: int) -> str:
    return f"generation:stop:{message_id}"


def heartbeat_ttl() -> float:
    return HEARTBEAT_INTERVAL * 3


@dataclass
class Generation:
    message_id: int
    public_id: str
    conversation_id: int
    conversation_public_id: str
    owner_id: int
    model: str
    context: list[ChatMessage]
    title_source: str
    text: str = ""
    usage: Usage | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    flushes: int = 0
    last_token: float = 0.0
    started: float = field(default_factory=time.monotonic)


def is_running(message_id: int) -> bool:
    """Return True if an engine (in this or another process) is generating the reply."""
    return message_id in _running or cache.get(alive_key(message_id)) is not None


def start_generation(message_id: int) -> None:
    """Generate the reply `message_id`, detached from the caller.

    From async code the task starts on the running loop. From a worker thread of the server
    (a sync view under daphne, usually inside transaction.on_commit) it is scheduled on the
    server's loop and this returns at once. With no server loop at all (the test client,
    management commands) it runs to completion before returning.
    """
    cache.set(alive_key(message_id), os.getpid(), timeout=heartbeat_ttl())
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = _server_loop()
    else:
        _spawn(message_id)
        return
    if loop is not None:
        # A fresh context: the task must not inherit the request's thread-sensitive executor,
        # which is shut down when the request ends.
        loop.call_soon_threadsafe(_spawn, message_id, context=contextvars.Context())
        return
    async_to_sync(_run_inline)(message_id)


async def _run_inline(message_id: int) -> None:
    # The loop ends with this call, so its HTTP client goes with it.
    try:
        await run_generation(message_id, db=sync_to_async)
    finally:
        await close_client()


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """Return the event loop of the server this worker thread serves, if any."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    pid = getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None)
    if loop is not None and pid == os.getpid() and loop.is_running():
        return loop
    return None


def _spawn(message_id: int) -> None:
    task = asyncio.get_running_loop().create_task(
        run_generation(message_id), name=f"generation-{message_id}"
    )
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def wait_for_running() -> None:
    """Wait until every generation started in this process has finished (tests, shutdown)."""
    while _tasks:
        await asyncio.gather(*list(_tasks), return_exceptions=True)


def engine_db(fn):
    """Run fn in the engine's database threads, which keep their connections open.

    Channels' database_sync_to_async reconnects around every call when CONN_MAX_AGE is 0;
    a flush every 250 ms per stream would open a connection each time. A broken connection
    is dropped after an error so the next call reconnects.
    """

    def call(*args):
        try:
            return fn(*args)
        except DatabaseError:
            connection.close()
            raise

    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        # The in-memory test database locks whole tables across connections: share the one
        # thread (and connection) the consumers and the tests' async calls use.
        return sync_to_async(call, thread_sensitive=True)
    return sync_to_async(call, thread_sensitive=False, executor=_db_executor())


_db_pool: ThreadPoolExecutor | None = None
_db_lock = threading.Lock()


def _db_executor() -> ThreadPoolExecutor:
    global _db_pool
    with _db_lock:
        if _db_pool is None:
            _db_pool = ThreadPoolExecutor(_db_workers(), thread_name_prefix="generation-db")
        return _db_pool


def _db_workers() -> int:
    # SQLite takes one writer at a time anyway; PostgreSQL gets a few parallel connections.
    return 1 if connection.vendor == "sqlite" else ENGINE_DB_THREADS


def close_db_connections() -> None:
    """Close the engine threads' database connections and stop the threads (tests, shutdown)."""
    global _db_pool
    with _db_lock:
        pool, _db_pool = _db_pool, None
    if pool is None:
        return
    workers = _db_workers()
    # Each close waits for the others, so every thread runs exactly one.
    barrier = threading.Barrier(workers)

    def close() -> None:
        connection.close()
        barrier.wait(timeout=10)

    for future in [pool.submit(close) for _ in range(workers)]:
        future.result()
    pool.shutdown()


async def run_generation(message_id: int, *, db=engine_db) -> None:
    """Generate one reply and leave its row in a final status."""
    gen = await db(_prepare)(message_id)
    if gen is None:
        return
    _running[message_id] = gen
    listener = asyncio.create_task(_listen_for_stop(gen))
    status, reason = Message.Status.FAILED, "The reply could not be generated."
    try:
        status, reason = await _stream(gen, db)
    except asyncio.CancelledError:
        status, reason = Message.Status.INCOMPLETE, "The server stopped while replying."
        await asyncio.shield(_end(gen, db, status, reason))
        raise
    except Exception:
        logger.exception("Generation of message %s failed", gen.public_id)
        status = Message.Status.INCOMPLETE if gen.text else Message.Status.FAILED
        reason = "The reply broke off because of a server error."
    finally:
        listener.cancel()
        _running.pop(message_id, None)
    await _end(gen, db, status, reason)
    if status == Message.Status.COMPLETED and gen.title_source:
        await _give_title(gen, db)


async def _end(gen: Generation, db, status: str, reason: str) -> None:
    final_status = await db(_finish)(gen, status, reason)
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
        {"type": "generation.done", "message_id": gen.public_id, "status": final_status},
    )


async def _read(stream, gen: Generation, arrived: asyncio.Event) -> None:
    """Append the provider's deltas to gen.text as they come (the only per-token work)."""
    async for item in stream:
        if isinstance(item, TextDelta):
            gen.text += item.text
            gen.last_token = time.monotonic()
            arrived.set()
        elif isinstance(item, Usage):
            gen.usage = item


async def _stream(gen: Generation, db) -> tuple[str, str]:
    """Stream the reply into gen.text and return (final status, reason).

    A reader task takes the tokens in; this loop wakes at most every PUBLISH_INTERVAL to
    publish what arrived, and every flush interval to write it, whatever the token rate.
    """
    timeout = settings.GENERATION_TIMEOUT
    flush_interval = settings.GENERATION_FLUSH_INTERVAL
    group = events.conversation_group(gen.conversation_public_id)
    layer = get_channel_layer()
    stream = get_provider(gen.model).stream(gen.context)
    arrived = asyncio.Event()
    now = time.monotonic()
    gen.last_token = last_flush = last_beat = now
    last_publish = 0.0
    published = flushed = 0  # length of gen.text already published / written
    flushing: asyncio.Future | None = None
    arrival: asyncio.Future | None = None
    reader = asyncio.ensure_future(_read(stream, gen, arrived))
    stop_wait = asyncio.ensure_future(gen.stop.wait())
    try:
        while True:
            now = time.monotonic()
            deadline = gen.last_token + timeout
            waiting = {reader, stop_wait}
            if len(gen.text) > published:
                deadline = min(deadline, last_publish + PUBLISH_INTERVAL)
            else:
                arrived.clear()
                arrival = asyncio.ensure_future(arrived.wait())
                waiting.add(arrival)
            if flushing is None or flushing.done():
                deadline = min(deadline, last_flush + flush_interval)
            else:
                waiting.add(flushing)
            done, _ = await asyncio.wait(
                waiting, timeout=max(deadline - now, 0), return_when=asyncio.FIRST_COMPLETED
            )
            if arrival is not None:
                arrival.cancel()
                arrival = None
            if stop_wait in done:
                return Message.Status.STOPPED, STOPPED_REASON
            if reader in done:
                error = reader.exception()
                if isinstance(error, ProviderError):
                    status = Message.Status.INCOMPLETE if gen.text else Message.Status.FAILED
                    return status, error.reason
                if error is not None:
                    raise error
                return Message.Status.COMPLETED, ""
            now = time.monotonic()
            if now - gen.last_token >= timeout:
                reason = f"No reply from the model for {timeout:g} seconds."
                return Message.Status.INCOMPLETE, reason
            if len(gen.text) > published and now - last_publish >= PUBLISH_INTERVAL:
                await layer.group_send(
                    group,
                    {"type": "generation.delta", "message_id": gen.public_id, "text": gen.text},
                )
                published, last_publish = len(gen.text), now
            if now - last_flush >= flush_interval and (flushing is None or flushing.done()):
                # The write runs beside the stream, never holding up its tokens; while one
                # is still queued for the database, the next waits (fewer writes under load).
                text = gen.text if len(gen.text) > flushed else None
                beat = now - last_beat >= HEARTBEAT_INTERVAL
                flushing = asyncio.ensure_future(db(_tick)(gen, text, beat))
                flushing.add_done_callback(partial(_stop_unless_kept_going, gen))
                if text is not None:
                    flushed = len(text)
                if beat:
                    last_beat = now
                last_flush = now
    finally:
        stop_wait.cancel()
        # Cancelling the reader closes the upstream response: a stopped reply stops costing.
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await stream.aclose()
        if flushing is not None:
            await asyncio.gather(flushing, return_exceptions=True)


async def _listen_for_stop(gen: Generation) -> None:
    """Set gen.stop when a stop request for this reply arrives from any process."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    group = events.generation_group(gen.public_id)
    await layer.group_add(group, channel)
    try:
        while True:
            event = await layer.receive(channel)
            if event.get("type") == "generation.stop":
                gen.stop.set()
                return
    finally:
        await asyncio.shield(layer.group_discard(group, channel))


def build_context(
    *, conversation: Conversation, leaf_id: int, model: str
) -> tuple[list[ChatMessage], str]:
    """Return the messages to send (instructions + active branch trimmed oldest-first).

    Also return the text to title the conversation from: its first user message.
    """
    budget = (
        settings.MODEL_CONTEXT_TOKENS.get(model, settings.DEFAULT_CONTEXT_TOKENS)
        - settings.REPLY_RESERVE_TOKENS
    )
    system: list[ChatMessage] = []
    project = conversation.project
    if project is not None and project.instructions.strip():
        system = [{"role": "system", "content": project.instructions}]
        budget -= estimate_tokens(project.instructions) + MESSAGE_OVERHEAD_TOKENS
    # No more messages can fit than this, however short they are.
    limit = max(budget // MESSAGE_OVERHEAD_TOKENS, 1)
    path = message_path(conversation=conversation, leaf_id=leaf_id, limit=limit)
    kept: list[ChatMessage] = []
    for message in reversed(path):
        if message.role == Message.Role.TOOL or not message.content:
            continue
        cost = estimate_tokens(message.content) + MESSAGE_OVERHEAD_TOKENS
        if kept and cost > budget:
            break
        kept.append({"role": message.role, "content": message.content})
        budget -= cost
    kept.reverse()
    title_source = ""
    if path and path[0].parent_id is None and path[0].role == Message.Role.USER:
        title_source = path[0].content
    return system + kept, title_source


def _prepare(message_id: int) -> Generation | None:
    reply = (
        Message.objects.select_related("conversation__project")
        .filter(pk=message_id, status=Message.Status.IN_PROGRESS)
        .first()
    )
    if reply is None:
        cache.delete(alive_key(message_id))
        return None
    conversation = reply.conversation
    context, title_source = build_context(
        conversation=conversation, leaf_id=reply.parent_id, model=reply.model
    )
    return Generation(
        message_id=reply.pk,
        public_id=reply.public_id,
        conversation_id=conversation.pk,
        conversation_public_id=conversation.public_id,
        owner_id=conversation.owner_id,
        model=reply.model or settings.CHAT_MODELS[0],
        context=context,
        title_source=title_source if not conversation.title else "",
    )


def _stop_unless_kept_going(gen: Generation, tick: asyncio.Future) -> None:
    if not tick.cancelled() and tick.exception() is None and not tick.result():
        gen.stop.set()
    elif not tick.cancelled() and tick.exception() is not None:
        logger.warning("Could not write the partial reply %s: %s", gen.public_id, tick.exception())


def _tick(gen: Generation, text: str | None, beat: bool) -> bool:
    """Write new partial text and keep the heartbeat; return False if the reply must stop.

    A stop can come from a process whose event never reached this one (the cache flag), or
    the row may have been ended meanwhile (Stop with no engine in sight, the sweeper).
    """
    if beat:
        cache.set(alive_key(gen.message_id), os.getpid(), timeout=heartbeat_ttl())
    if cache.get(stop_key(gen.message_id)) is not None:
        return False
    if text is None:
        return True
    gen.flushes += 1
    return bool(
        Message.objects.filter(pk=gen.message_id, status=Message.Status.IN_PROGRESS).update(
            content=text, updated_at=timezone.now()
        )
    )


def _finish(gen: Generation, status: str, reason: str) -> str:
    """Store the reply's text, final status and usage, and update the conversation."""
    usage = gen.usage or Usage()
    input_tokens = usage.input_tokens
    if input_tokens is None:
        input_tokens = sum(estimate_tokens(m["content"]) for m in gen.context)
    output_tokens = usage.output_tokens
    if output_tokens is None:
        output_tokens = estimate_tokens(gen.text)
    now = timezone.now()
    gen.flushes += 1
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=gen.conversation_id)
        reply = Message.objects.select_for_update().get(pk=gen.message_id)
        if reply.status == Message.Status.IN_PROGRESS:
            reply.status = status
            reply.status_reason = reason[:500]
        elif len(reply.content) > len(gen.text):
            # Ended elsewhere (Stop with no engine in sight, the sweeper) with more text.
            gen.text = reply.content
        reply.content = gen.text
        reply.input_tokens = input_tokens
        reply.output_tokens = output_tokens
        reply.call_id = usage.call_id[:100]
        reply.updated_at = now
        reply.save(
            update_fields=[
                "content",
                "status",
                "status_reason",
                "input_tokens",
                "output_tokens",
                "call_id",
                "updated_at",
            ]
        )
        conversation.token_count += input_tokens + output_tokens
        conversation.updated_at = now
        fields = ["token_count", "updated_at"]
        if gen.text:
            conversation.preview = make_preview(gen.text)
            fields.append("preview")
        conversation.save(update_fields=fields)
        events.sidebar_changed(
            user_id=gen.owner_id,
            conversation_public_id=gen.conversation_public_id,
            action="updated",
        )
    cache.delete_many([alive_key(gen.message_id), stop_key(gen.message_id)])
    return reply.status


async def _give_title(gen: Generation, db) -> None:
    title = await generate_title(gen.title_source)
    if await db(_save_title)(gen.conversation_id, title):
        await events.apublish(
            events.user_group(gen.owner_id),
            {
                "type": "sidebar.changed",
                "conversation_id": gen.conversation_public_id,
                "action": "titled",
            },
        )


def _save_title(conversation_id: int, title: str) -> bool:
    # Only an untitled conversation: a rename meanwhile wins.
    return bool(Conversation.objects.filter(pk=conversation_id, title="").update(title=title))


def sweep_generations(*, older_than: float, dry_run: bool = False) -> int:
    """Mark replies left `in_progress` by a dead process as incomplete; return how many."""
    cutoff = timezone.now() - timedelta(seconds=older_than)
    candidates = Message.objects.filter(
        status=Message.Status.IN_PROGRESS, updated_at__lt=cutoff
    ).values_list("pk", flat=True)
    dead = [pk for pk in candidates if not is_running(pk)]
    if dry_run or not dead:
        return len(dead)
    # The status condition again: a reply that ended meanwhile keeps its own status.
    return Message.objects.filter(pk__in=dead, status=Message.Status.IN_PROGRESS).update(
        status=Message.Status.INCOMPLETE,
        status_reason="The server stopped while replying.",
        updated_at=timezone.now(),
    )


def sweep_at_startup() -> None:
    """Run the sweep when a server process starts (daphne or runserver), never in tests."""
    program = sys.argv[0] if sys.argv else ""
    is_server = "daphne" in program or sys.argv[1:2] == ["runserver"]
    if not is_server or "pytest" in sys.modules:
        return
    try:
        # Replies of live engines in other processes keep a heartbeat and are skipped.
        count = sweep_generations(older_than=0)
    except DatabaseError as exc:
        logger.warning("Could not sweep abandoned replies at start-up: %s", exc)
        return
    finally:
        close_old_connections()
    if count:
        logger.info("Marked %s abandoned replies as incomplete.", count)
