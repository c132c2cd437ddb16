"""Django's Redis cache with one client, so one connection pool, per process.

Django builds a cache backend per thread and per async context, and each `RedisCache` builds
its own connection pool: every request, and every task of a streaming reply, opened a new
connection to Redis (connect, then the handshake commands) to read one key. redis-py's pool
is thread-safe and notices a fork, so one client per server list serves every caller.
"""

import threading

from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

_clients: dict[tuple, RedisCacheClient] = {}
_lock = threading.Lock()


class SharedRedisCache(RedisCache):
    @cached_property
    def _cache(self) -> RedisCacheClient:
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
        return client


def count_in_window(cache: BaseCache, key: str, timeout: int) -> int:
    """Add one to the counter at key, created at 0 to expire after timeout; return the count.

    On Redis one round trip: SET NX EX and INCR in one MULTI, so the counter can neither be
    missed nor outlive its window. Django's add() then incr() took three (incr asks EXISTS
    first), each of them a wait on every throttled request. Other caches take that path,
    atomic as each of their incr() is.
    """
    if isinstance(cache, RedisCache):
        stored = cache.make_and_validate_key(key)
        with cache._cache.get_client(stored, write=True).pipeline(transaction=True) as pipe:
            pipe.set(stored, 0, ex=timeout, nx=True)
            pipe.incr(stored)
            return pipe.execute()[1]
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # The counter expired between add and incr: this is a new window.
        cache.add(key, 0, timeout=timeout)
        return cache.incr(key)
