"""PostgreSQL phrase pairs are looked up by their owner too.

``msg_owner_pairs_idx`` (migration 0007) is read by a phrase's pairs alone: btree_gin's
owner column does not take the small int psycopg sends, and a user's owner key of a
million rows cost more to intersect than the pairs save. So a user's phrase read every
user's rows holding its pairs and checked the owner on each, and the planner ANDed that
with a bitmap of all the user's rows (for "search index" at a million messages beside
another user's million: 1,367 pair hits, 6 of them the user's, plus 7.5 ms for the
bitmap of the user's 100,000 rows; 1.6x the same search without the other user).

The pair index now holds each row's pairs twice: as they are ("search index"), for a
search of every owner's rows (the admin), and prefixed with the row's owner
("7:search index"), for a user's. A user's phrase is looked up by its owner's keys, so
the index gives that user's rows holding the pairs and nothing else (2.4 ms, from 9-11).
A key's owner is only a narrowing: the search still checks the owner and the phrase on
each row, so a lexeme that looked like a key could not widen a result.

The index is built CONCURRENTLY when the migration runs on its own (as `migrate` runs it):
about 7 minutes at 1.1 million messages, during which messages are still written. If the
build fails it leaves an invalid index: drop `msg_pair_keys_idx` and migrate again.
"""

from django.db import migrations

POSTGRES_FORWARD = [
    # Not STRICT: a row without an owner keeps its plain pairs.
    """
    CREATE FUNCTION conversations_search_pair_keys(owner bigint, vector tsvector)
    RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT pairs || ARRAY(
            SELECT owner || ':' || pair FROM unnest(pairs) AS pair WHERE owner IS NOT NULL
        ) FROM coalesce(conversations_search_pairs(vector), '{}') AS pairs
    $$
    """,
    # A query's keys: its phrases' pairs (conversations_phrase_pairs), under its owner.
    """
    CREATE FUNCTION conversations_owner_phrase_pairs(owner bigint, phrases text[])
    RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
        SELECT ARRAY(
            SELECT owner || ':' || pair FROM unnest(conversations_phrase_pairs(phrases)) AS pair
        )
    $$
    """,
    "CREATE INDEX {concurrently} msg_pair_keys_idx ON conversations_message "
    "USING GIN (conversations_search_pair_keys(search_owner_id, search_vector))",
    "DROP INDEX {concurrently} msg_owner_pairs_idx",
    "ANALYZE conversations_message",
]
POSTGRES_BACKWARD = [
    "CREATE INDEX {concurrently} IF NOT EXISTS msg_owner_pairs_idx ON conversations_message "
    "USING GIN (search_owner_id, conversations_search_pairs(search_vector))",
    "DROP INDEX {concurrently} IF EXISTS msg_pair_keys_idx",
    "DROP FUNCTION IF EXISTS conversations_owner_phrase_pairs(bigint, text[])",
    "DROP FUNCTION IF EXISTS conversations_search_pair_keys(bigint, tsvector)",
]


def _run(schema_editor, statements) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    # `migrate` runs this outside a transaction (atomic = False), so the index is built
    # CONCURRENTLY; inside one (a test's), where PostgreSQL takes no CONCURRENTLY, plainly.
    concurrently = "" if connection.in_atomic_block else "CONCURRENTLY"
    for sql in statements:
        schema_editor.execute(sql.replace("{concurrently}", concurrently))


def forward(apps, schema_editor):
    _run(schema_editor, POSTGRES_FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, POSTGRES_BACKWARD)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ("conversations", "0011_sqlite_phrase_pairs"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
