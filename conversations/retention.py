"""Retention and database upkeep, safe to run from cron while the site serves traffic.

Deletes go in batches of about a thousand rows (a conversation and its messages counting
together), each batch its own short transaction: one ``DELETE ... WHERE id IN (...)`` on
conversations; messages and share links go by database cascade. Every function is
idempotent: a second run finds nothing left to do.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from conversations.models import Conversation, Message
from core import sqlite

BATCH_SIZE = 1000
# The apps whose tables db_maintenance looks after on PostgreSQL, plus the user table.
APP_LABELS = ("accounts", "projects", "conversations", "sharing")

Progress = Callable[[int], None]


@dataclass
class DeleteReport:
    conversations: int = 0
    messages: int = 0
    batches: int = 0
    longest_batch_seconds: float = 0.0

    def add(self, other: "DeleteReport") -> None:
        self.conversations += other.conversations
        self.messages += other.messages
        self.batches += other.batches
        self.longest_batch_seconds = max(self.longest_batch_seconds, other.longest_batch_seconds)


@dataclass
class PurgeReport:
    users: int = 0
    deleted: DeleteReport = field(default_factory=DeleteReport)


@dataclass
class MaintenanceReport:
    vendor: str
    statements: list[str]
    # SQLite: free pages in the file. PostgreSQL: dead rows in the app tables.
    reclaimable_before: int
    # SQLite: the file. PostgreSQL: the app tables with their indexes and TOAST.
    size_before: int
    reclaimable_after: int | None = None
    size_after: int | None = None
    seconds: float = 0.0


def conversations_to_prune(
    *,
    older_than_days: int,
    user_id: int | None = None,
    archived_only: bool = False,
    keep_pinned: bool = False,
    now=None,
) -> QuerySet[Conversation]:
    """Return the conversations the retention policy removes: not updated for N days."""
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1.")
    cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
    queryset = Conversation.objects.filter(updated_at__lt=cutoff)
    if user_id is not None:
        queryset = queryset.filter(owner_id=user_id)
    if archived_only:
        queryset = queryset.filter(archived_at__isnull=False)
    if keep_pinned:
        queryset = queryset.filter(pinned_at__isnull=True)
    return queryset


def conversations_count(queryset: QuerySet[Conversation]) -> DeleteReport:
    """Return how many conversations and messages deleting the queryset would remove."""
    return DeleteReport(
        conversations=queryset.count(),
        messages=Message.objects.filter(conversation__in=queryset).count(),
    )


def conversations_delete_in_batches(
    queryset: QuerySet[Conversation],
    *,
    batch_size: int = BATCH_SIZE,
    on_batch: Progress | None = None,
) -> DeleteReport:
    """Delete the queryset's conversations a batch at a time, each batch in its own transaction.

    A batch holds about ``batch_size`` rows, a conversation and its messages counting
    together, so a transaction stays short however long the conversations are. Batches walk
    the primary key (keyset); each is re-checked under a row lock before its DELETE, so a
    conversation that changed since it was selected (a new message) is kept.
    """
    report = DeleteReport()
    last_id = 0
    while True:
        # Finding the batch may scan; it runs before the transaction so writers never wait on it.
        found = list(
            queryset.filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", "message_count")[:batch_size]
        )
        if not found:
            return report
        candidates, rows = [], 0
        for pk, message_count in found:
            if candidates and rows + 1 + message_count > batch_size:
                break
            candidates.append(pk)
            rows += 1 + message_count
        last_id = candidates[-1]
        started = time.perf_counter()
        with transaction.atomic(using=queryset.db):
            # Lock the rows that still match, so a conversation given a new message meanwhile
            # is kept and the counts are exact (SQLite's IMMEDIATE transaction already locks).
            ids = list(
                queryset.filter(pk__in=candidates).select_for_update().values_list("pk", flat=True)
            )
            messages = Message.objects.filter(conversation_id__in=ids).count()
            deleted, _ = Conversation.objects.filter(pk__in=ids).delete()
        elapsed = time.perf_counter() - started
        report.conversations += deleted
        report.messages += messages
        report.batches += 1
        report.longest_batch_seconds = max(report.longest_batch_seconds, elapsed)
        if on_batch:
            on_batch(deleted)
        if len(found) < batch_size and last_id == found[-1][0]:
            return report


def users_to_purge(*, inactive_days: int, now=None) -> QuerySet:
    """Return non-staff users whose last login (or sign-up, if they never logged in) is old."""
    if inactive_days < 1:
        raise ValueError("inactive_days must be at least 1.")
    cutoff = (now or timezone.now()) - timedelta(days=inactive_days)
    return get_user_model().objects.filter(
        Q(last_login__lt=cutoff) | Q(last_login__isnull=True, date_joined__lt=cutoff),
        is_staff=False,
        is_superuser=False,
    )


def users_purge_count(users: QuerySet) -> PurgeReport:
    """Return how many users, conversations and messages purging the users would remove."""
    return PurgeReport(
        users=users.count(),
        deleted=conversations_count(Conversation.objects.filter(owner__in=users)),
    )


def users_purge(
    users: QuerySet, *, batch_size: int = BATCH_SIZE, on_batch: Progress | None = None
) -> PurgeReport:
    """Delete users and all their data: their conversations in batches first, then them.

    Projects, share links and API keys go with the user (database cascade or Django's).
    ``on_batch`` is called with the number of conversations deleted.
    """
    report = PurgeReport()
    last_id = 0
    while True:
        user_ids = list(
            users.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)[:batch_size]
        )
        if not user_ids:
            return report
        last_id = user_ids[-1]
        # The owners' inactivity is re-checked with each batch: whoever logs in meanwhile
        # keeps their conversations as well as their account.
        report.deleted.add(
            conversations_delete_in_batches(
                Conversation.objects.filter(owner__in=users.filter(pk__in=user_ids)),
                batch_size=batch_size,
                on_batch=on_batch,
            )
        )
        started = time.perf_counter()
        with transaction.atomic(using=users.db):
            # Re-check inactivity: someone who logged in meanwhile keeps the account.
            _, per_model = users.filter(pk__in=user_ids).delete()
        report.deleted.longest_batch_seconds = max(
            report.deleted.longest_batch_seconds, time.perf_counter() - started
        )
        report.users += per_model.get(users.model._meta.label, 0)


def _app_tables() -> list[str]:
    tables = [get_user_model()._meta.db_table]
    for label in APP_LABELS:
        tables += [model._meta.db_table for model in apps.get_app_config(label).get_models()]
    return tables


def _sqlite_measure(cursor) -> tuple[int, int]:
    """Return the free pages in the file and the file's size in bytes."""
    cursor.execute("PRAGMA freelist_count")
    free = cursor.fetchone()[0]
    cursor.execute("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
    return free, cursor.fetchone()[0]


def _postgres_measure(cursor, tables: list[str]) -> tuple[int, int]:
    """Return the dead rows in the tables and their size on disk in bytes, indexes included."""
    cursor.execute(
        "SELECT COALESCE(SUM(n_dead_tup), 0), COALESCE(SUM(pg_total_relation_size(relid)), 0) "
        "FROM pg_stat_user_tables WHERE relname = ANY(%s)",
        [tables],
    )
    dead, size = cursor.fetchone()
    return int(dead), int(size)


def database_maintain(*, dry_run: bool = False, using: str = DEFAULT_DB_ALIAS) -> MaintenanceReport:
    """Give freed space back and refresh planner statistics (VACUUM and ANALYZE).

    Must run outside a transaction: VACUUM cannot run inside one.
    """
    connection = connections[using]
    if connection.in_atomic_block:
        raise RuntimeError("database_maintain() cannot run inside a transaction.")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # Full-text indexes merged to one segment each, before VACUUM gives back the
            # pages the old segments held.
            statements = [*sqlite.merge_fulltext_statements(connection)]
            statements += ["PRAGMA optimize", "VACUUM", "ANALYZE"]
            measure = _sqlite_measure
        elif connection.vendor == "postgresql":
            tables = _app_tables()
            statements = [
                f"VACUUM (ANALYZE) {connection.ops.quote_name(table)}" for table in tables
            ]

            def measure(cursor):
                return _postgres_measure(cursor, tables)
        else:
            raise RuntimeError(f"No maintenance is defined for {connection.vendor}.")
        reclaimable, size = measure(cursor)
        report = MaintenanceReport(connection.vendor, statements, reclaimable, size)
        if dry_run:
            return report
        for statement in statements:
            cursor.execute(statement)
        report.reclaimable_after, report.size_after = measure(cursor)
    report.seconds = time.perf_counter() - started
    return report
