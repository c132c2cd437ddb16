"""Stored message HTML (content_html, render_version) and a 64-bit conversation token total.

SQLite cannot add a NOT NULL column or change a type in place, so Django rebuilds both tables
here, and dropping the old table drops the full-text search triggers of 0002 with it. They
are created again once the tables are rebuilt, in both directions (the FTS index itself is
keyed by the unchanged ids and stays valid). PostgreSQL alters the tables in place and keeps
its triggers.
"""

from importlib import import_module

from django.db import migrations, models

search_index = import_module("conversations.migrations.0002_search_index")


def sqlite_triggers_create(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for sql in search_index.SQLITE_BACKWARD:
        if sql.startswith("DROP TRIGGER"):
            schema_editor.execute(sql)
    for sql in search_index.SQLITE_FORWARD:
        if sql.lstrip().startswith("CREATE TRIGGER"):
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0002_search_index"),
    ]

    operations = [
        # Going back, the tables are rebuilt after this step: its reverse runs last.
        migrations.RunPython(migrations.RunPython.noop, sqlite_triggers_create, elidable=False),
        migrations.AddField(
            model_name="message",
            name="content_html",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="message",
            name="render_version",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name="conversation",
            name="token_count",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.RunPython(sqlite_triggers_create, migrations.RunPython.noop, elidable=False),
    ]
