"""SQLite search reads one user's titles: the owner is a column of the title index too.

Migration 0006 put each message's owner in the message index. Titles kept an index of their
text alone, so a light user's title search walked every owner's matching titles newest
first and dropped the others' (3.5-4.3 ms for a user of 10,000 conversations beside one of
100,000: the other user's titles, growing with them). Now the title index holds
``owner_id`` beside ``title`` (both columns of ``conversations_conversation``, its external
content table), and ``owner_id : 7 AND title : (...)`` intersects the owner's posting list
with the words' (organise.search). Every query of the index names its column, so a user's
words never match an owner id.
"""

from django.db import migrations

TOKENIZER = "porter unicode61 remove_diacritics 2"
TITLE_FTS = "conversations_conversation_fts"
TRIGGERS = [
    "conversations_conversation_fts_insert",
    "conversations_conversation_fts_delete",
    "conversations_conversation_fts_update",
]


def _statements(columns: list[str]) -> list[str]:
    names = ", ".join(columns)
    new = ", ".join(f"new.{column}" for column in columns)
    old = ", ".join(f"old.{column}" for column in columns)
    return [
        *(f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS),
        f"DROP TABLE IF EXISTS {TITLE_FTS}",
        f"""
        CREATE VIRTUAL TABLE {TITLE_FTS} USING fts5(
            {names}, content='conversations_conversation', content_rowid='id',
            tokenize='{TOKENIZER}'
        )
        """,
        f"""
        CREATE TRIGGER conversations_conversation_fts_insert AFTER INSERT
        ON conversations_conversation
        BEGIN
            INSERT INTO {TITLE_FTS}(rowid, {names}) VALUES (new.id, {new});
        END
        """,
        f"""
        CREATE TRIGGER conversations_conversation_fts_delete AFTER DELETE
        ON conversations_conversation
        BEGIN
            INSERT INTO {TITLE_FTS}({TITLE_FTS}, rowid, {names}) VALUES ('delete', old.id, {old});
        END
        """,
        f"""
        CREATE TRIGGER conversations_conversation_fts_update AFTER UPDATE OF {names}
        ON conversations_conversation
        BEGIN
            INSERT INTO {TITLE_FTS}({TITLE_FTS}, rowid, {names}) VALUES ('delete', old.id, {old});
            INSERT INTO {TITLE_FTS}(rowid, {names}) VALUES (new.id, {new});
        END
        """,
        f"INSERT INTO {TITLE_FTS}({TITLE_FTS}) VALUES ('rebuild')",
        "PRAGMA optimize",
    ]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in _statements(["title", "owner_id"]):
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in _statements(["title"]):
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0008_status_index"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
