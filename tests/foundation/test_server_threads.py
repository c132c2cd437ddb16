"""The server's shared parts: sync views on a few long-lived threads, one Redis pool a process."""

import asyncio
import threading

import pytest
from asgiref.sync import ThreadSensitiveContext, sync_to_async

from chatbot.asgi import SyncThreads
from core.cache import SharedRedisCache
from tests.engine.test_stream_frames import REDIS_TEST_URL, redis_reachable


async def test_requests_run_their_sync_code_on_a_few_long_lived_threads():
    seen: list[tuple[int, int]] = []

    async def app(scope, receive, send):
        # As Django's ASGIHandler does: its own (inner) context, then sync parts of a request.
        async with ThreadSensitiveContext():
            first = await sync_to_async(threading.get_ident)()
            await asyncio.sleep(0.01)  # other requests run meanwhile
            second = await sync_to_async(threading.get_ident)()
        seen.append((first, second))

    threads = SyncThreads(app, 2)
    await asyncio.gather(*(threads({"type": "http"}, None, None) for _ in range(12)))
    assert len(seen) == 12
    # Each request keeps one thread for all its sync code (Django's thread-sensitive mode)...
    assert all(first == second for first, second in seen)
    # ...and twelve requests at once share two threads, not twelve new ones.
    assert len({first for first, _ in seen}) == 2
    assert threads.busy == [0, 0]
    main = threading.get_ident()
    assert all(first != main for first, _ in seen)


async def test_a_request_goes_to_the_least_busy_thread():
    release = asyncio.Event()
    idents: list[int] = []

    async def app(scope, receive, send):
        async with ThreadSensitiveContext():
            idents.append(await sync_to_async(threading.get_ident)())
            if scope.get("slow"):
                await release.wait()

    threads = SyncThreads(app, 2)
    slow = asyncio.create_task(threads({"type": "http", "slow": True}, None, None))
    await asyncio.sleep(0.05)
    assert threads.busy == [1, 0]
    # Requests that arrive while the slow one runs all go to the other thread.
    for _ in range(3):
        await threads({"type": "http"}, None, None)
    assert len(set(idents[1:])) == 1 and idents[1] != idents[0]
    release.set()
    await slow


@pytest.mark.skipif(not redis_reachable(), reason="Redis is not running")
def test_the_redis_cache_keeps_one_client_for_every_thread():
    params = {"OPTIONS": {}, "KEY_PREFIX": "test-shared-cache"}
    backends = [SharedRedisCache(REDIS_TEST_URL, params)]

    def in_a_thread():
        backends.append(SharedRedisCache(REDIS_TEST_URL, params))
        backends[-1].set("key", "value", 5)

    worker = threading.Thread(target=in_a_thread)
    worker.start()
    worker.join()
    # Django makes a backend per thread and context; they share one client, so one pool.
    assert backends[0] is not backends[1]
    assert backends[0]._cache is backends[1]._cache
    assert backends[0].get("key") == "value"
    other = SharedRedisCache(REDIS_TEST_URL.replace("/5", "/6"), params)
    assert other._cache is not backends[0]._cache
