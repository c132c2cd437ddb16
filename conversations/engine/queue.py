"""Replies handed from a server with no event loop (a WSGI worker) to an engine process.

With ENGINE_QUEUE on, a send made where no event loop runs (gunicorn's sync workers) pushes
the reply's id and the requester's time zone onto a Redis list and returns at once;
`manage.py run_engine` pops each one (BRPOP: exactly one engine process takes it) and runs
the reply on its own loop, publishing through the channel layer like any other engine. An
ASGI process (daphne) still runs its own sends' replies itself.

The row is the truth, the queue only says "start": an id whose reply is no longer
in_progress when it is popped is skipped, and a reply left in_progress by an engine that died
is marked incomplete by `sweep_generations`, as for any other process.
"""

import asyncio
import json
import logging
import signal

import redis
import redis.asyncio
from django.conf import settings

from conversations.engine.db import close_db_connections
from conversations.engine.runner import cancel_running, spawn_here, wait_for_running
from conversations.engine.state import running
from conversations.llm import aclose_providers

logger = logging.getLogger(__name__)

_client: redis.Redis | None = None


def queue_key() -> str:
    return f"{settings.REDIS_PREFIX}:engine:queue"


def enqueue(message_id: int, zone: str) -> None:
    """Hand the reply to whichever engine process pops it first."""
    global _client
    if _client is None:
        # One client, so one thread-safe connection pool, per process.
        _client = redis.Redis.from_url(settings.REDIS_URL)
    _client.lpush(queue_key(), json.dumps([message_id, zone]))


async def serve(*, stop: asyncio.Event, grace: float) -> int:
    """Start every queued reply until `stop` is set; return how many were started.

    After `stop`, no new reply is taken; running ones get `grace` seconds to finish, then are
    cancelled, which stores them `incomplete` with their text.
    """
    client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    started = 0
    try:
        while not stop.is_set():
            item = await client.brpop([queue_key()], timeout=1)
            if item is None:
                continue
            try:
                message_id, zone = json.loads(item[1])
            except (ValueError, TypeError):
                logger.warning("Skipped a malformed engine queue entry: %r", item[1][:200])
                continue
            spawn_here(int(message_id), str(zone))
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


def run(*, grace: float) -> int:
    """Serve the queue until SIGTERM or SIGINT (the command's body)."""

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await serve(stop=stop, grace=grace)

    try:
        return asyncio.run(main())
    finally:
        close_db_connections()
