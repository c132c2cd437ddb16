from django.apps import AppConfig
from django.core.signals import request_finished
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate

from core import sqlite


class ConversationsConfig(AppConfig):
    name = "conversations"

    def ready(self):
        # Connects the logout receiver that closes the session's websockets.
        from conversations import consumers  # noqa: F401

        # SQLite's planner statistics, kept current (PostgreSQL's autovacuum does this there).
        connection_created.connect(sqlite.on_connection_created, dispatch_uid="sqlite-optimize")
        request_finished.connect(sqlite.on_request_finished, dispatch_uid="sqlite-optimize")
        post_migrate.connect(sqlite.on_post_migrate, sender=self, dispatch_uid="sqlite-optimize")
