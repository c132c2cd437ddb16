"""Django's Redis cache with one client, so one connection pool, per process.

Django builds a cache backend per thread and per async context, and each `RedisCache` builds
its own connection pool: every request, and every task of a streaming reply, opened a new
connection to Redis (connect, then the handshake commands) to read one key. redis-py's pool
is thread-safe and notices a fork, so one client per server list serves every caller.
"""

import threading

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
