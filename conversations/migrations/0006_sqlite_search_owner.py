"""SQLite search reads one user's rows: the owner is a column of the message index.

Until now the FTS5 index held message text alone, so a search walked every user's matches
newest first and dropped those of other users: another user's million messages made one
user's search up to 25x slower. Now each message row carries its conversation's owner
(``search_owner_id``, as on PostgreSQL since 0005: set by the insert trigger, a
conversation never changes owner) and the FTS5 table indexes it beside the text, so the
candidates' query ``search_owner_id : 7 AND content : (...)`` intersects the user's own
posting list with the words' and never visits another user's rows (organise.search).
Titles keep their index: a user has far fewer conversations than messages.

The column is the database's, not the model's (Django never writes it, so a full save of a
message cannot clear it). A future migration that makes Django rebuild
``conversations_message`` on SQLite (``_remake_table``: some AlterField operations) drops
the column and the triggers: it must run SQLITE_OWNER_FORWARD again afterwards;
``tests/organise/test_search.py`` checks the schema and fails loudly if that is forgotten.
"""

from django.db import migrations

TOKENIZER = "porter unicode61 remove_diacritics 2"
MESSAGE_FTS = "conversations_message_fts"
TRIGGERS = [
    "conversations_message_fts_insert",
    "conversations_message_fts_delete",
    "conversations_message_fts_update",
]
OWNER = "(SELECT owner_id FROM conversations_conversation WHERE id = new.conversation_id)"


def _table(columns: str) -> list[str]:
    return [
        *(f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS),
        f"DROP TABLE IF EXISTS {MESSAGE_FTS}",
        f"""
        CREATE VIRTUAL TABLE {MESSAGE_FTS} USING fts5(
            {columns}, content='conversations_message', content_rowid='id',
            tokenize='{TOKENIZER}'
        )
        """,
    ]


SQLITE_OWNER_FORWARD = [
    "ALTER TABLE conversations_message ADD COLUMN search_owner_id bigint NULL",
    "UPDATE conversations_message SET search_owner_id = (SELECT owner_id FROM "
    "conversations_conversation c WHERE c.id = conversations_message.conversation_id)",
    *_table("content, search_owner_id"),
    # The row gets its owner, and the index the same value, as the message is written.
    f"""
    CREATE TRIGGER conversations_message_fts_insert AFTER INSERT ON conversations_message
    BEGIN
        UPDATE conversations_message SET search_owner_id = {OWNER}
        WHERE id = new.id AND search_owner_id IS NULL;
        INSERT INTO {MESSAGE_FTS}(rowid, content, search_owner_id)
        VALUES (new.id, new.content, coalesce(new.search_owner_id, {OWNER}));
    END
    """,
    # old.search_owner_id: the conversation may already be gone (a cascade deletes it first).
    f"""
    CREATE TRIGGER conversations_message_fts_delete AFTER DELETE ON conversations_message
    BEGIN
        INSERT INTO {MESSAGE_FTS}({MESSAGE_FTS}, rowid, content, search_owner_id)
        VALUES ('delete', old.id, old.content, old.search_owner_id);
    END
    """,
    f"""
    CREATE TRIGGER conversations_message_fts_update AFTER UPDATE OF content
    ON conversations_message
    BEGIN
        INSERT INTO {MESSAGE_FTS}({MESSAGE_FTS}, rowid, content, search_owner_id)
        VALUES ('delete', old.id, old.content, old.search_owner_id);
        INSERT INTO {MESSAGE_FTS}(rowid, content, search_owner_id)
        VALUES (new.id, new.content, new.search_owner_id);
    END
    """,
    f"INSERT INTO {MESSAGE_FTS}({MESSAGE_FTS}) VALUES ('rebuild')",
    "PRAGMA optimize",
]

SQLITE_OWNER_BACKWARD = [
    *_table("content"),
    f"""
    CREATE TRIGGER conversations_message_fts_insert AFTER INSERT ON conversations_message
    BEGIN
        INSERT INTO {MESSAGE_FTS}(rowid, content) VALUES (new.id, new.content);
    END
    """,
    f"""
    CREATE TRIGGER conversations_message_fts_delete AFTER DELETE ON conversations_message
    BEGIN
        INSERT INTO {MESSAGE_FTS}({MESSAGE_FTS}, rowid, content)
        VALUES ('delete', old.id, old.content);
    END
    """,
    f"""
    CREATE TRIGGER conversations_message_fts_update AFTER UPDATE OF content
    ON conversations_message
    BEGIN
        INSERT INTO {MESSAGE_FTS}({MESSAGE_FTS}, rowid, content)
        VALUES ('delete', old.id, old.content);
        INSERT INTO {MESSAGE_FTS}(rowid, content) VALUES (new.id, new.content);
    END
    """,
    f"INSERT INTO {MESSAGE_FTS}({MESSAGE_FTS}) VALUES ('rebuild')",
    "ALTER TABLE conversations_message DROP COLUMN search_owner_id",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_OWNER_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_OWNER_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0005_read_indexes"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
