"""Where a reply runs: on the caller's event loop, detached, or inline when there is none."""

import asyncio
import contextvars
import logging
import signal

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.utils import timezone

from conversations.engine import queue
from conversations.engine.db import close_db_connections
from conversations.engine.loop import run_generation
from conversations.engine.state import mark_alive, running
from conversations.llm import aclose_providers

logger = logging.getLogger(__name__)

# Strong references to running generations: the loop keeps only weak ones to tasks.
_tasks: set[asyncio.Task] = set()


def start_generation(message_id: int) -> None:
    """Generate the reply `message_id`, detached from the caller.

    From async code the task starts on the running loop. From a worker thread of the server
    (a sync view under daphne, usually inside transaction.on_commit) it is scheduled on the
    server's loop and this returns at once. With no server loop at all it is handed to an
    engine process when ENGINE_QUEUE is on (a WSGI worker: conversations/engine/queue.py),
    and otherwise (the test client, management commands) it runs to completion before
    returning. The reply keeps the time zone active here (the requester's browser zone,
    core.timezone) for what it renders.
    """
    mark_alive(message_id)
    zone = timezone.get_current_timezone_name()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        loop = _caller_loop()
    else:
        spawn_here(message_id, zone)
        return
    if loop is not None:
        # A fresh context: the task must not inherit the request's thread-sensitive executor,
        # which is shut down when the request ends.
        loop.call_soon_threadsafe(spawn_here, message_id, zone, context=contextvars.Context())
        return
    if settings.ENGINE_QUEUE:
        queue.enqueue(message_id, zone)
        return
    async_to_sync(_run_inline)(message_id, zone)


async def _current_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def _caller_loop() -> asyncio.AbstractEventLoop | None:
    """Return the event loop this worker thread was called from (via sync_to_async), if any.

    async_to_sync runs a coroutine on the loop up the call stack when there is one, and on a
    loop of its own, closed once the call returns, when there is none.
    """
    loop = async_to_sync(_current_loop)()
    return loop if loop.is_running() else None


async def _run_inline(message_id: int, zone: str) -> None:
    # The loop ends with this call, so its providers' HTTP clients go with it.
    try:
        await run_generation(message_id, db=sync_to_async, time_zone=zone)
    finally:
        await aclose_providers()


def spawn_here(message_id: int, zone: str) -> None:
    """Start the reply as a task of the running loop (kept referenced until it ends)."""
    task = asyncio.get_running_loop().create_task(
        run_generation(message_id, time_zone=zone), name=f"generation-{message_id}"
    )
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def wait_for_running() -> None:
    """Wait until every generation started in this process has finished (tests, shutdown)."""
    while _tasks:
        await asyncio.gather(*list(_tasks), return_exceptions=True)
        # Awaiting tasks that are all done does not yield: let their done callbacks run.
        await asyncio.sleep(0)


def cancel_running() -> None:
    """Cancel every generation of this process: each stores its text as `incomplete`."""
    for task in list(_tasks):
        task.cancel()


async def serve_queue(*, stop: asyncio.Event, grace: float) -> int:
    """Start every reply queued by WSGI workers (queue.py) until `stop`; return how many.

    After `stop`, no new reply is taken; running ones get `grace` seconds to finish, then are
    cancelled, which stores them `incomplete` with their text.
    """
    client = queue.async_client()
    started = 0
    try:
        while not stop.is_set():
            item = await queue.pop(client)
            if item is not None:
                spawn_here(*item)
                started += 1
    finally:
        await client.aclose()
    if running:
        logger.info("Waiting up to %ss for %s running replies.", grace, len(running))
    try:
        await asyncio.wait_for(wait_for_running(), grace)
    except TimeoutError:
        cancel_running()
        await wait_for_running()
    await aclose_providers()
    return started


def run_engine(*, grace: float) -> int:
    """Serve the engine queue until SIGTERM or SIGINT (`manage.py run_engine`)."""

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await serve_queue(stop=stop, grace=grace)

    try:
        return asyncio.run(main())
    finally:
        close_db_connections()
