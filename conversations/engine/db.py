"""The engine's database threads: connections kept open across a reply's many writes."""

import threading
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.db import DatabaseError, connection

# Threads (each with its own open connection) writing replies on PostgreSQL.
ENGINE_DB_THREADS = 4

_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


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
    return sync_to_async(call, thread_sensitive=False, executor=_executor())


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_workers(), thread_name_prefix="generation-db")
        return _pool


def _workers() -> int:
    # SQLite takes one writer at a time anyway; PostgreSQL gets a few parallel connections.
    return 1 if connection.vendor == "sqlite" else ENGINE_DB_THREADS


def close_db_connections() -> None:
    """Close the engine threads' database connections and stop the threads (tests, shutdown)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is None:
        return
    workers = _workers()
    # Each close waits for the others, so every thread runs exactly one.
    barrier = threading.Barrier(workers)

    def close() -> None:
        connection.close()
        barrier.wait(timeout=10)

    for future in [pool.submit(close) for _ in range(workers)]:
        future.result()
    pool.shutdown()
