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
    "CREATE INDEX msg_pair_keys_idx ON conversations_message "
    "USING GIN (conversations_search_pair_keys(search_owner_id, search_vector))",
    "DROP INDEX msg_owner_pairs_idx",
    "ANALYZE conversations_message",
]
POSTGRES_BACKWARD = [
    "CREATE INDEX IF NOT EXISTS msg_owner_pairs_idx ON conversations_message "
    "USING GIN (search_owner_id, conversations_search_pairs(search_vector))",
    "DROP INDEX IF EXISTS msg_pair_keys_idx",
    "DROP FUNCTION IF EXISTS conversations_owner_phrase_pairs(bigint, text[])",
    "DROP FUNCTION IF EXISTS conversations_search_pair_keys(bigint, tsvector)",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in POSTGRES_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in POSTGRES_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0011_sqlite_phrase_pairs"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
