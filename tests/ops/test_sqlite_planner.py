"""SQLite keeps its planner statistics without anyone running ANALYZE by hand."""

import pytest
from django.core.management import call_command
from django.db import connection, connections

from core import sqlite
from tests.ops.world import make_conversation

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")


def _stat_tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return set()
        cursor.execute("SELECT tbl FROM sqlite_stat1")
        return {row[0] for row in cursor.fetchall()}


def _drop_stats() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS sqlite_stat1")


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_analyzes_a_database_never_analyzed(owner):
    make_conversation(owner=owner, messages=4)
    _drop_stats()
    fresh = connections.create_connection("default")
    try:
        fresh.ensure_connection()  # connection_created runs the optimizer
    finally:
        fresh.close()
    assert {"conversations_message", "conversations_conversation"} <= _stat_tables()


@pytest.mark.django_db(transaction=True)
def test_migrate_leaves_statistics(owner):
    make_conversation(owner=owner, messages=4)
    _drop_stats()
    call_command("migrate", verbosity=0)  # nothing to apply; post_migrate still runs
    assert "conversations_message" in _stat_tables()


@pytest.mark.django_db(transaction=True)
def test_bench_data_generation_leaves_statistics():
    from organise.benchdata import MessageRange, bench_data_generate

    _drop_stats()
    bench_data_generate(users=1, conversations=3, messages=MessageRange(4, 4), progress=False)
    assert "conversations_message" in _stat_tables()


def test_the_periodic_optimize_runs_at_most_once_a_period(monkeypatch, db):
    ran = []
    monkeypatch.setattr(sqlite, "_last_run", 0.0)
    monkeypatch.setattr(sqlite.time, "monotonic", lambda: float(sqlite.PERIOD_SECONDS + 1))
    real_execute = connection.cursor

    def spy():
        cursor = real_execute()
        original = cursor.execute

        def execute(sql, params=None):
            ran.append(sql)
            return original(sql, params)

        cursor.execute = execute
        return cursor

    connection.ensure_connection()
    monkeypatch.setattr(connection, "cursor", spy)
    sqlite.on_request_finished(None)
    sqlite.on_request_finished(None)
    assert ran == ["PRAGMA optimize"]


@pytest.mark.django_db(transaction=True)
def test_statistics_count_every_row_so_a_two_valued_column_is_not_taken_as_selective(owner):
    """A sampled ANALYZE reads an index's first few hundred entries: a column with two
    values looked like one with hundreds, and the role-filtered admin list's rating counts
    walked every message of the role instead of the partial index of rated replies."""
    from django.test.utils import CaptureQueriesContext

    from conversations.admin import feedback_by_model
    from conversations.models import Message
    from tests.factories import ConversationFactory

    conversation = ConversationFactory(owner=owner)
    Message.objects.bulk_create(
        Message(conversation=conversation, role=role, content="x")
        for role in ("assistant", "user")
        for _ in range(600)
    )
    _drop_stats()
    sqlite.optimize(connection, analyze=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE idx = 'msg_role_idx'")
        rows, per_role, _ = cursor.fetchone()[0].split()
    assert (int(rows), int(per_role)) == (1200, 600)

    with CaptureQueriesContext(connection) as captured:
        assert feedback_by_model(Message.objects.filter(role="user")) == []
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + captured.captured_queries[0]["sql"])
        plan = " ".join(row[3] for row in cursor.fetchall())
    assert "msg_feedback_idx" in plan and "msg_role_idx" not in plan
