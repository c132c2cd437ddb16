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

import json

import redis
import redis.asyncio
from django.conf import settings

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


async def pop(client: redis.asyncio.Redis, timeout: float = 1) -> tuple[int, str] | None:
    """Wait up to `timeout` for the next queued reply; None when there is none (or garbage)."""
    item = await client.brpop([queue_key()], timeout=timeout)
    if item is None:
        return None
    try:
        message_id, zone = json.loads(item[1])
        return int(message_id), str(zone)
    except (ValueError, TypeError):
        return None


def async_client() -> redis.asyncio.Redis:
    return redis.asyncio.Redis.from_url(settings.REDIS_URL)
