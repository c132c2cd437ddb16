"""Keep SQLite's planner statistics current without anyone remembering to.

SQLite has no autovacuum: without ``sqlite_stat1`` its planner guesses, and a search or a
filtered list can pick a plan a hundred times slower. SQLite's own advice
(sqlite.org/lang_analyze.html, "Recommended usage pattern") is what these receivers do:
``PRAGMA optimize=0x10002`` when a connection opens, plain ``PRAGMA optimize`` every few hours
of a long-lived process, and after a schema change or a bulk load. ``analysis_limit`` keeps
each ANALYZE to a sample, so it costs milliseconds even on a 2 GB file. Connected in
conversations.apps (the app whose tables grow).
"""

import time

from django.db import connections

# Sampled rows per index for each ANALYZE the optimizer decides to run.
ANALYSIS_LIMIT = 400
# A process runs plain PRAGMA optimize at most this often (SQLite suggests hours).
PERIOD_SECONDS = 3600

_last_run = time.monotonic()


def optimize(connection, *, analyze: bool = False) -> None:
    """Run PRAGMA optimize on a SQLite connection; `analyze` samples every table first.

    SQLite before 3.46 ignores the 0x10000 "all tables" bit and optimizes only the tables this
    connection has queried, so a database never analyzed is analyzed here outright.
    """
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        if not analyze:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
            analyze = cursor.fetchone() is None
        if analyze:
            cursor.execute("ANALYZE")
        cursor.execute("PRAGMA optimize=0x10002")


def on_connection_created(sender, connection, **kwargs) -> None:
    """Check the statistics as the connection opens (one lookup when they are current)."""
    optimize(connection)


def on_request_finished(sender, **kwargs) -> None:
    """Run the periodic PRAGMA optimize, at most once per PERIOD_SECONDS in this process."""
    global _last_run
    now = time.monotonic()
    if now - _last_run < PERIOD_SECONDS:
        return
    _last_run = now
    for connection in connections.all(initialized_only=True):
        if connection.vendor == "sqlite" and connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA optimize")


def on_post_migrate(sender, using="default", **kwargs) -> None:
    """Refresh the statistics after migrate changed tables and indexes."""
    optimize(connections[using], analyze=True)
