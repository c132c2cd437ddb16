"""PostgreSQL phrase search through an index of adjacent word pairs.

A GIN index over ``search_vector`` finds the rows holding every word of a phrase, not the
rows holding them side by side: for "search index" at a million messages, 57,000 rows hold
both words and 1,345 the phrase, and checking word positions in each of the 57,000 cost
300-400 ms. ``conversations_search_pairs(vector)`` lists a text's consecutive lexemes as
pairs ("search index"), in the order of their positions (stop words leave no lexeme, so
"open the file" gives "open file", as ``phraseto_tsquery`` reads it); an expression GIN
index (``msg_owner_pairs_idx``: the owner, then the pairs, through ``btree_gin``) then gives
a phrase's candidates as the user's rows holding each of its pairs, and only those are
checked for the exact phrase. The index is computed from ``search_vector`` as rows are
written; nothing is stored in the table.
"""

from django.db import migrations

POSTGRES_FORWARD = [
    """
    CREATE FUNCTION conversations_search_pairs(vector tsvector) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
        SELECT coalesce(array_agg(DISTINCT pair), '{}') FROM (
            SELECT lexeme || ' ' || lead(lexeme) OVER (ORDER BY position) AS pair
            FROM unnest(vector) AS u(lexeme, positions, weights), unnest(positions) AS position
        ) pairs WHERE pair IS NOT NULL
    $$
    """,
    # The pairs every phrase of a query needs (each phrase's own, none across two phrases).
    """
    CREATE FUNCTION conversations_phrase_pairs(phrases text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
        SELECT coalesce(array_agg(DISTINCT pair), '{}')
        FROM unnest(phrases) AS phrase,
            unnest(conversations_search_pairs(to_tsvector('english'::regconfig, phrase))) AS pair
    $$
    """,
    "CREATE INDEX msg_owner_pairs_idx ON conversations_message "
    "USING GIN (search_owner_id, conversations_search_pairs(search_vector))",
    "ANALYZE conversations_message",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS msg_owner_pairs_idx",
    "DROP FUNCTION IF EXISTS conversations_phrase_pairs(text[])",
    "DROP FUNCTION IF EXISTS conversations_search_pairs(tsvector)",
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
        ("conversations", "0006_sqlite_search_owner"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
