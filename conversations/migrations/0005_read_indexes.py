"""Indexes for the reads at a million messages: sidebar lists, per-user search, admin lists.

Partial indexes give the pinned and archived lists their few rows directly. On PostgreSQL
each message also carries its conversation's owner (``search_owner_id``, set by the search
trigger on insert: a conversation never changes owner), so full-text candidates come from
one user's rows through a composite GIN index (``btree_gin``) and an ordered btree, never
from every user's matches filtered afterwards.
"""

from django.db import migrations, models

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    "ALTER TABLE conversations_message ADD COLUMN search_owner_id bigint",
    """
    CREATE OR REPLACE FUNCTION conversations_message_search_vector() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_vector := to_tsvector('english', left(NEW.content, 200000));
        IF NEW.search_owner_id IS NULL THEN
            SELECT owner_id INTO NEW.search_owner_id
            FROM conversations_conversation WHERE id = NEW.conversation_id;
        END IF;
        RETURN NEW;
    END
    $$
    """,
    # Not an UPDATE OF content: the search vector trigger does not run again.
    "UPDATE conversations_message m SET search_owner_id = c.owner_id "
    "FROM conversations_conversation c WHERE c.id = m.conversation_id",
    "CREATE INDEX msg_owner_search_idx ON conversations_message "
    "USING GIN (search_owner_id, search_vector)",
    # The newest of one user's messages first: how common words are searched.
    "CREATE INDEX msg_owner_recent_idx ON conversations_message (search_owner_id, id)",
    "DROP INDEX IF EXISTS msg_search_idx",
    "CREATE INDEX conv_owner_search_idx ON conversations_conversation "
    "USING GIN (owner_id, search_vector)",
    "DROP INDEX IF EXISTS conv_search_idx",
    "ANALYZE conversations_message",
    "ANALYZE conversations_conversation",
]
POSTGRES_BACKWARD = [
    "CREATE INDEX IF NOT EXISTS msg_search_idx ON conversations_message USING GIN (search_vector)",
    "CREATE INDEX IF NOT EXISTS conv_search_idx ON conversations_conversation "
    "USING GIN (search_vector)",
    "DROP INDEX IF EXISTS conv_owner_search_idx",
    "DROP INDEX IF EXISTS msg_owner_recent_idx",
    "DROP INDEX IF EXISTS msg_owner_search_idx",
    """
    CREATE OR REPLACE FUNCTION conversations_message_search_vector() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_vector := to_tsvector('english', left(NEW.content, 200000));
        RETURN NEW;
    END
    $$
    """,
    "ALTER TABLE conversations_message DROP COLUMN IF EXISTS search_owner_id",
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
        ("conversations", "0004_feedback"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(
                condition=models.Q(("archived_at__isnull", True), ("pinned_at__isnull", False)),
                fields=["owner", "-updated_at", "-id"],
                name="conv_pinned_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(
                condition=models.Q(("archived_at__isnull", False)),
                fields=["owner", "-updated_at", "-id"],
                name="conv_archived_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["role", "id"], name="msg_role_idx"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["status", "id"], name="msg_status_idx"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(("call_id", ""), _negated=True),
                fields=["call_id"],
                name="msg_call_id_idx",
            ),
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
