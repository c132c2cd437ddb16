"""PostgreSQL phrase pairs keep the distance between their words.

Migration 0007 paired each lexeme with the next one in position order, whatever lay
between: "open the file" gave the pair "open file", the pair of the phrase "open file" too,
so each phrase's candidates held the other's rows, and every such row failed the phrase's
recheck (for "search index" at a million messages, 1,003 rows read to find 500). A pair now
says how far apart its words stand when stop words lie between them, as the phrase's
``tsquery`` does (``'open' <2> 'file'``): "open file" for neighbours, "open <2> file" for
"open the file". The query's pairs come from the same function, so they match exactly the
rows whose words stand as the phrase's do. The index is rebuilt (the function is its
expression).
"""

import importlib

from django.db import migrations

GAPS_FUNCTION = """
    CREATE OR REPLACE FUNCTION conversations_search_pairs(vector tsvector) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
        SELECT coalesce(array_agg(DISTINCT pair), '{}') FROM (
            SELECT lexeme || CASE WHEN next_position - position = 1 THEN ' '
                ELSE ' <' || (next_position - position) || '> ' END || next_lexeme AS pair
            FROM (
                SELECT lexeme, position,
                    lead(lexeme) OVER w AS next_lexeme, lead(position) OVER w AS next_position
                FROM unnest(vector) AS u(lexeme, positions, weights), unnest(positions) AS position
                WINDOW w AS (ORDER BY position)
            ) neighbours WHERE next_lexeme IS NOT NULL
        ) pairs
    $$
"""
# Backward restores migration 0007's own function, as 0007 wrote it.
PLAIN_FUNCTION = (
    importlib.import_module("conversations.migrations.0007_phrase_pairs")
    .POSTGRES_FORWARD[0]
    .replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
)


def _rebuild(schema_editor, function: str) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(function)
        schema_editor.execute("REINDEX INDEX msg_owner_pairs_idx")


def forward(apps, schema_editor):
    _rebuild(schema_editor, GAPS_FUNCTION)


def backward(apps, schema_editor):
    _rebuild(schema_editor, PLAIN_FUNCTION)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0009_sqlite_title_owner"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
