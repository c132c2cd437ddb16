"""The admin's status filter reads one page of a status newest first, never every conversation.

A plain index, not a partial one on the statuses moderators set: SQLite uses a partial index
only when the query repeats its condition, and ``status = 'locked'`` does not repeat
``status <> 'active'``. Creating it is a ``CREATE INDEX`` on both databases (no table rebuild).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0007_phrase_pairs"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(fields=["status", "-updated_at", "-id"], name="conv_status_idx"),
        ),
    ]
