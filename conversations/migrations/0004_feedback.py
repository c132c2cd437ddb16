"""Feedback on replies: rating, comment and time on the message row, and a partial index.

On SQLite, Django adds a NOT NULL column by rebuilding the table, which would drop the
full-text triggers of 0002_search_index; the columns are added in place there instead.
"""

from django.db import migrations, models


class AddColumnInPlace(migrations.AddField):
    """AddField that never rebuilds the table on SQLite (ALTER TABLE … ADD COLUMN)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "sqlite":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        field = model._meta.get_field(self.name)
        definition, params = schema_editor.column_sql(model, field, include_default=True)
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {quote(model._meta.db_table)} "
            f"ADD COLUMN {quote(field.column)} {definition}",
            params,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0003_stored_html"),
    ]

    operations = [
        AddColumnInPlace(
            model_name="message",
            name="feedback_rating",
            field=models.CharField(
                blank=True,
                choices=[("up", "Good response"), ("down", "Bad response")],
                max_length=4,
            ),
        ),
        AddColumnInPlace(
            model_name="message",
            name="feedback_comment",
            field=models.TextField(blank=True),
        ),
        AddColumnInPlace(
            model_name="message",
            name="feedback_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(("feedback_rating", ""), _negated=True),
                fields=["model", "feedback_rating"],
                name="msg_feedback_idx",
            ),
        ),
    ]
