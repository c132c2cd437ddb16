"""Keep SQLite's planner statistics current without anyone remembering to.

SQLite has no autovacuum: without ``sqlite_stat1`` its planner guesses, and a search or a
filtered list can pick a plan a hundred times slower. SQLite's own advice
(sqlite.org/lang_analyze.html, "Recommended usage pattern") is what these receivers do:
``PRAGMA optimize=0x10002`` when a connection opens, plain ``PRAGMA optimize`` every few hours
of a long-lived process, and after a schema change or a bulk load. Connected in
conversations.apps (the app whose tables grow).

Every ANALYZE reads whole indexes (``analysis_limit=0``), never SQLite's sample. The sample
is the first few hundred entries of each index, so a column with few values is read as
having hundreds of them: at a million messages it recorded about 400 messages per role
instead of 555,035, the planner took ``role = 'user'`` for a selective filter, and the admin's
rating counts of the role-filtered list walked half a million rows (1.1 s) instead of the
partial index of rated replies (0.1 ms). A full ANALYZE of that 1.7 GB file takes 1.7 s,
and PRAGMA optimize runs one only when a table has changed size about tenfold since the last.
"""

import time

from django.db import connections

# Rows read per index by each ANALYZE: 0 is all of them (see above: a sample misleads).
ANALYSIS_LIMIT = 0
# A process runs plain PRAGMA optimize at most this often (SQLite suggests hours).
PERIOD_SECONDS = 3600

_last_run = time.monotonic()


def optimize(connection, *, analyze: bool = False) -> None:
    """Run PRAGMA optimize on a SQLite connection; `analyze` analyzes every table first.

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


def fulltext_tables(cursor) -> list[str]:
    """Return the names of the database's FTS5 tables (not their fts5vocab views)."""
    cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND sql LIKE 'CREATE VIRTUAL TABLE % USING fts5(%' ORDER BY name"
    )
    return [name for (name,) in cursor.fetchall()]


def merge_fulltext_statements(connection) -> list[str]:
    """The statements that merge each FTS5 index into one segment (FTS5's 'optimize').

    FTS5 writes an index as segments, merged a few at a time as rows arrive (automerge); a
    query reads every segment's posting list of each of its words. A bulk load leaves a
    dozen: at a million messages, ten segments made a search 15-30 % slower than one (a
    phrase of two common words 20.8 against 18.4 ms, a word for a user beside another's
    million messages 10.3 against 7.9), and the more of them there were, the more a user's
    search cost grew with other users' data. SQLite's advice after a bulk load: optimize.
    It rewrites the index (3.4 s for 1.1 million messages), so it runs from db_maintenance
    and after generate_bench_data, never on the request path.
    """
    if connection.vendor != "sqlite":
        return []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        return [
            f"INSERT INTO {quote(table)}({quote(table)}) VALUES('optimize')"
            for table in fulltext_tables(cursor)
        ]


def fulltext_segments(connection, table: str) -> int:
    """Return how many segments the FTS5 table's index has (one after a merge)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(DISTINCT segid) FROM {connection.ops.quote_name(table + '_idx')}"
        )
        return cursor.fetchone()[0]


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
            # analysis_limit is the connection's, set by optimize() as it opened.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA optimize")


def on_post_migrate(sender, using="default", **kwargs) -> None:
    """Refresh the statistics after migrate changed tables and indexes."""
    optimize(connections[using], analyze=True)
