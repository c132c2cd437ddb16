"""Full-text search index, kept current by the database itself.

PostgreSQL: a stored ``search_vector`` tsvector on messages (content) and conversations
(title), each with a GIN index, filled by a BEFORE trigger in the same transaction as the
write. SQLite: FTS5 external-content tables kept current by triggers. Triggers cover every
write path: services, the engine's partial flushes, imports, bulk_create, COPY.
"""

from django.db import migrations

# Long texts are indexed up to this many characters (a tsvector is limited to 1 MB).
POSTGRES_FORWARD = [
    "ALTER TABLE conversations_message ADD COLUMN search_vector tsvector",
    "ALTER TABLE conversations_conversation ADD COLUMN search_vector tsvector",
    """
    CREATE FUNCTION conversations_message_search_vector() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_vector := to_tsvector('english', left(NEW.content, 200000));
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE FUNCTION conversations_conversation_search_vector() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_vector := to_tsvector('english', NEW.title);
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER conversations_message_search BEFORE INSERT OR UPDATE OF content
    ON conversations_message FOR EACH ROW
    EXECUTE FUNCTION conversations_message_search_vector()
    """,
    """
    CREATE TRIGGER conversations_conversation_search BEFORE INSERT OR UPDATE OF title
    ON conversations_conversation FOR EACH ROW
    EXECUTE FUNCTION conversations_conversation_search_vector()
    """,
    "UPDATE conversations_message "
    "SET search_vector = to_tsvector('english', left(content, 200000))",
    "UPDATE conversations_conversation SET search_vector = to_tsvector('english', title)",
    "CREATE INDEX msg_search_idx ON conversations_message USING GIN (search_vector)",
    "CREATE INDEX conv_search_idx ON conversations_conversation USING GIN (search_vector)",
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS conversations_message_search ON conversations_message",
    "DROP TRIGGER IF EXISTS conversations_conversation_search ON conversations_conversation",
    "DROP FUNCTION IF EXISTS conversations_message_search_vector()",
    "DROP FUNCTION IF EXISTS conversations_conversation_search_vector()",
    "ALTER TABLE conversations_message DROP COLUMN IF EXISTS search_vector",
    "ALTER TABLE conversations_conversation DROP COLUMN IF EXISTS search_vector",
]

SQLITE_TOKENIZER = "porter unicode61 remove_diacritics 2"
SQLITE_FORWARD = [
    f"""
    CREATE VIRTUAL TABLE conversations_message_fts USING fts5(
        content, content='conversations_message', content_rowid='id',
        tokenize='{SQLITE_TOKENIZER}'
    )
    """,
    f"""
    CREATE VIRTUAL TABLE conversations_conversation_fts USING fts5(
        title, content='conversations_conversation', content_rowid='id',
        tokenize='{SQLITE_TOKENIZER}'
    )
    """,
    """
    CREATE TRIGGER conversations_message_fts_insert AFTER INSERT ON conversations_message
    BEGIN
        INSERT INTO conversations_message_fts(rowid, content) VALUES (new.id, new.content);
    END
    """,
    """
    CREATE TRIGGER conversations_message_fts_delete AFTER DELETE ON conversations_message
    BEGIN
        INSERT INTO conversations_message_fts(conversations_message_fts, rowid, content)
        VALUES ('delete', old.id, old.content);
    END
    """,
    """
    CREATE TRIGGER conversations_message_fts_update AFTER UPDATE OF content
    ON conversations_message
    BEGIN
        INSERT INTO conversations_message_fts(conversations_message_fts, rowid, content)
        VALUES ('delete', old.id, old.content);
        INSERT INTO conversations_message_fts(rowid, content) VALUES (new.id, new.content);
    END
    """,
    """
    CREATE TRIGGER conversations_conversation_fts_insert AFTER INSERT
    ON conversations_conversation
    BEGIN
        INSERT INTO conversations_conversation_fts(rowid, title) VALUES (new.id, new.title);
    END
    """,
    """
    CREATE TRIGGER conversations_conversation_fts_delete AFTER DELETE
    ON conversations_conversation
    BEGIN
        INSERT INTO conversations_conversation_fts(conversations_conversation_fts, rowid, title)
        VALUES ('delete', old.id, old.title);
    END
    """,
    """
    CREATE TRIGGER conversations_conversation_fts_update AFTER UPDATE OF title
    ON conversations_conversation
    BEGIN
        INSERT INTO conversations_conversation_fts(conversations_conversation_fts, rowid, title)
        VALUES ('delete', old.id, old.title);
        INSERT INTO conversations_conversation_fts(rowid, title) VALUES (new.id, new.title);
    END
    """,
    "INSERT INTO conversations_message_fts(conversations_message_fts) VALUES ('rebuild')",
    "INSERT INTO conversations_conversation_fts(conversations_conversation_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS conversations_message_fts_insert",
    "DROP TRIGGER IF EXISTS conversations_message_fts_delete",
    "DROP TRIGGER IF EXISTS conversations_message_fts_update",
    "DROP TRIGGER IF EXISTS conversations_conversation_fts_insert",
    "DROP TRIGGER IF EXISTS conversations_conversation_fts_delete",
    "DROP TRIGGER IF EXISTS conversations_conversation_fts_update",
    "DROP TABLE IF EXISTS conversations_message_fts",
    "DROP TABLE IF EXISTS conversations_conversation_fts",
]

STATEMENTS = {
    "postgresql": (POSTGRES_FORWARD, POSTGRES_BACKWARD),
    "sqlite": (SQLITE_FORWARD, SQLITE_BACKWARD),
}


def _run(schema_editor, direction: int) -> None:
    statements = STATEMENTS.get(schema_editor.connection.vendor)
    if statements is None:
        return  # Search supports PostgreSQL and SQLite only.
    for sql in statements[direction]:
        schema_editor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, 0)


def backward(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
