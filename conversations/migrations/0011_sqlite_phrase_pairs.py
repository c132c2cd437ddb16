"""SQLite phrase candidates that hold the phrase's word pairs (a third column of the index).

A phrase of two common words ("write test") read both words' whole posting lists for a
user whose rows are most of the index: 181,613 and 201,642 rows at a million messages for
47 matches, so the phrase cost 2.8-3x at a million what it cost at 100,000. PostgreSQL
narrows a phrase by its word pairs (0007, 0010); SQLite now does too. The message index
gains a column, ``search_pairs``: each pair of neighbouring words of the message, as one
token (the two stems joined by an ``x``), so ``search_pairs : "writextest" AND content :
"write test"`` reads the pair's short posting list and checks the phrase on those rows alone.
Every row holding the phrase holds its pairs; a row holding a pair that is another's
(stems that meet at the joint) only fails the phrase, so the results stay the same.

The stems are SQLite's own, from the index's tokenizer: a trigger writes the message to a
contentless stage table of the same tokenizer, reads its tokens back in order through
``fts5vocab(..., instance)``, pairs each with the next, and empties the stage
(``'delete-all'``), all in the write's transaction. The query's pairs come from a stage of
the same kind in the connection's temp schema (conversations.fulltext.sqlite_pairs), which
writes nothing to the database file.

The pairs are stored in the index alone: its external content is a view giving NULL for
the column, so FTS5 reads the text from the messages and the pairs cost no space in
``conversations_message``. Two things follow. A 'delete' must be given the pairs it indexed,
so the delete and update triggers stage the old text again; and an FTS5 ``'rebuild'`` of
this table would index no pairs (and ``'integrity-check'`` with rank 1 reports them
missing): run ``FORWARD`` instead, as this migration does. A Django rebuild of the message
table (see 0006) needs 0006's statements and then these.
"""

import importlib

from django.db import migrations

OWNER_MIGRATION = importlib.import_module("conversations.migrations.0006_sqlite_search_owner")
TOKENIZER = OWNER_MIGRATION.TOKENIZER
MESSAGE_FTS = OWNER_MIGRATION.MESSAGE_FTS
TRIGGERS = OWNER_MIGRATION.TRIGGERS
OWNER = OWNER_MIGRATION.OWNER
STAGE = "conversations_message_stage"
STAGE_TOKENS = "conversations_message_stage_tokens"
SOURCE = "conversations_message_search_source"
COLUMNS = "rowid, content, search_owner_id, search_pairs"
# Messages staged at once by the backfill.
BATCH = 2_000


def pairs_of(doc: str) -> str:
    """The SQL of the pairs of the staged document `doc`, as one string (NULL for none)."""
    return (
        "(SELECT group_concat(pair, ' ') FROM (SELECT term || 'x' || lead(term) OVER "
        f"(ORDER BY offset) AS pair FROM {STAGE_TOKENS} WHERE doc = {doc}) WHERE pair IS NOT NULL)"
    )


def _delete_old(pairs: str) -> str:
    return (
        f"INSERT INTO {MESSAGE_FTS}({MESSAGE_FTS}, {COLUMNS}) "
        f"VALUES ('delete', old.id, old.content, old.search_owner_id, {pairs})"
    )


EMPTY_STAGE = f"INSERT INTO {STAGE}({STAGE}) VALUES ('delete-all')"

FORWARD = [
    *(f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS),
    f"DROP TABLE IF EXISTS {MESSAGE_FTS}",
    f"DROP VIEW IF EXISTS {SOURCE}",
    f"DROP TABLE IF EXISTS {STAGE_TOKENS}",
    f"DROP TABLE IF EXISTS {STAGE}",
    f"CREATE VIRTUAL TABLE {STAGE} USING fts5(body, content='', tokenize='{TOKENIZER}')",
    f"CREATE VIRTUAL TABLE {STAGE_TOKENS} USING fts5vocab({STAGE}, instance)",
    f"CREATE VIEW {SOURCE} AS SELECT id, content, search_owner_id, NULL AS search_pairs "
    "FROM conversations_message",
    f"""
    CREATE VIRTUAL TABLE {MESSAGE_FTS} USING fts5(
        content, search_owner_id, search_pairs, content='{SOURCE}', content_rowid='id',
        tokenize='{TOKENIZER}'
    )
    """,
    f"""
    CREATE TRIGGER conversations_message_fts_insert AFTER INSERT ON conversations_message
    BEGIN
        UPDATE conversations_message SET search_owner_id = {OWNER}
        WHERE id = new.id AND search_owner_id IS NULL;
        INSERT INTO {STAGE}(rowid, body) VALUES (1, new.content);
        INSERT INTO {MESSAGE_FTS}({COLUMNS})
        VALUES (new.id, new.content, coalesce(new.search_owner_id, {OWNER}), {pairs_of("1")});
        {EMPTY_STAGE};
    END
    """,
    f"""
    CREATE TRIGGER conversations_message_fts_delete AFTER DELETE ON conversations_message
    BEGIN
        INSERT INTO {STAGE}(rowid, body) VALUES (1, old.content);
        {_delete_old(pairs_of("1"))};
        {EMPTY_STAGE};
    END
    """,
    f"""
    CREATE TRIGGER conversations_message_fts_update AFTER UPDATE OF content
    ON conversations_message
    BEGIN
        INSERT INTO {STAGE}(rowid, body) VALUES (1, old.content), (2, new.content);
        {_delete_old(pairs_of("1"))};
        INSERT INTO {MESSAGE_FTS}({COLUMNS})
        VALUES (new.id, new.content, new.search_owner_id, {pairs_of("2")});
        {EMPTY_STAGE};
    END
    """,
]

def fill_batch(into: str) -> list[str]:
    """One batch of the backfill into the index `into`: the messages with ids in (lo, hi]."""
    return [
        f"INSERT INTO {STAGE}(rowid, body) "
        "SELECT id, content FROM conversations_message WHERE id > %s AND id <= %s",
        f"""
        INSERT INTO {into}({COLUMNS})
        SELECT m.id, m.content, m.search_owner_id, p.pairs
        FROM conversations_message m LEFT JOIN (
            SELECT doc, group_concat(pair, ' ') AS pairs FROM (
                SELECT doc, term || 'x' || lead(term) OVER (PARTITION BY doc ORDER BY offset)
                    AS pair
                FROM {STAGE_TOKENS}
            ) WHERE pair IS NOT NULL GROUP BY doc
        ) p ON p.doc = m.id
        WHERE m.id > %s AND m.id <= %s
        """,
        EMPTY_STAGE,
    ]


def fill(cursor, *, into: str = MESSAGE_FTS, batch: int = BATCH) -> int:
    """Index every message with its pairs in `into`, `batch` at a time; return how many."""
    statements = fill_batch(into)
    last, done = 0, 0
    while True:
        cursor.execute(
            "SELECT max(id), count(*) FROM (SELECT id FROM conversations_message "
            "WHERE id > %s ORDER BY id LIMIT %s)",
            [last, batch],
        )
        upper, count = cursor.fetchone()
        if not count:
            return done
        for statement in statements:
            cursor.execute(statement, [last, upper] if "%s" in statement else [])
        last, done = upper, done + count


# Backward: migration 0006's table, triggers and rebuild (its statements after the column's).
BACKWARD = [
    *OWNER_MIGRATION.SQLITE_OWNER_FORWARD[2:],
    f"DROP VIEW IF EXISTS {SOURCE}",
    f"DROP TABLE IF EXISTS {STAGE_TOKENS}",
    f"DROP TABLE IF EXISTS {STAGE}",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in FORWARD:
            schema_editor.execute(statement)
        with schema_editor.connection.cursor() as cursor:
            fill(cursor)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0010_phrase_pair_gaps"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
