import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from accounts.models import ApiKey, hash_key
from conversations import retention
from conversations.models import Conversation, Message
from core import sqlite
from organise.search import conversation_search
from projects.models import Project
from sharing.models import ShareLink
from tests.factories import ProjectFactory, UserFactory
from tests.ops.world import days_ago, make_conversation, share

User = get_user_model()


def run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue().strip()


def surviving_titles() -> set[str]:
    return set(Conversation.objects.values_list("title", flat=True))


# prune_conversations


@pytest.fixture
def aged(owner, outsider):
    """Conversations 100 and 5 days old, some archived or pinned, for two users."""
    return {
        "old": make_conversation(owner=owner, title="old", age_days=100, messages=3),
        "old_archived": make_conversation(
            owner=owner, title="old_archived", age_days=100, archived_at=days_ago(90)
        ),
        "old_pinned": make_conversation(
            owner=owner, title="old_pinned", age_days=100, pinned_at=days_ago(90)
        ),
        "recent": make_conversation(owner=owner, title="recent", age_days=5),
        "other_old": make_conversation(owner=outsider, title="other_old", age_days=100),
    }


def test_prune_deletes_old_conversations_with_their_messages_and_shares(aged):
    share(aged["old"])
    old_ids = [c.pk for name, c in aged.items() if name != "recent"]

    summary = run("prune_conversations", "--older-than", "30")

    assert surviving_titles() == {"recent"}
    assert not Message.objects.filter(conversation_id__in=old_ids).exists()
    assert not ShareLink.objects.exists()
    assert Message.objects.filter(conversation=aged["recent"]).count() == 2
    assert summary.startswith("Deleted 4 conversations (9 messages) not updated for 30 days")


def test_prune_dry_run_changes_nothing(aged):
    summary = run("prune_conversations", "--older-than", "30", "--dry-run")

    assert summary == (
        "Dry run: would delete 4 conversations (9 messages) not updated for 30 days."
    )
    assert len(surviving_titles()) == 5
    assert Message.objects.count() == 11


def test_prune_twice_deletes_nothing_the_second_time(aged):
    run("prune_conversations", "--older-than", "30")

    summary = run("prune_conversations", "--older-than", "30")

    assert summary.startswith("Deleted 0 conversations (0 messages)")
    assert surviving_titles() == {"recent"}


def test_prune_for_one_user_keeps_other_users_conversations(aged):
    run("prune_conversations", "--older-than", "30", "--user", "mallory")

    assert surviving_titles() == {"old", "old_archived", "old_pinned", "recent"}


def test_prune_archived_only(aged):
    run("prune_conversations", "--older-than", "30", "--archived-only")

    assert "old_archived" not in surviving_titles()
    assert len(surviving_titles()) == 4


def test_prune_keep_pinned(aged):
    run("prune_conversations", "--older-than", "30", "--keep-pinned")

    assert surviving_titles() == {"old_pinned", "recent"}


def test_prune_applies_retention_days_by_default(aged, settings):
    settings.RETENTION_DAYS = 50

    run("prune_conversations")

    assert surviving_titles() == {"recent"}


def test_prune_option_overrides_retention_days(aged, settings):
    settings.RETENTION_DAYS = 1

    run("prune_conversations", "--older-than", "200")

    assert len(surviving_titles()) == 5


def test_prune_batches_hold_about_batch_size_rows_messages_included(owner):
    for index in range(5):
        make_conversation(owner=owner, title=f"c{index}", age_days=40, messages=1)

    summary = run("prune_conversations", "--older-than", "30", "--batch-size", "4")

    assert "in 3 batches" in summary  # two conversations of two rows each, twice, then one
    assert not Conversation.objects.exists()


def test_prune_deletes_a_long_conversation_in_a_batch_of_its_own(owner):
    for messages in (1, 10, 1):
        make_conversation(owner=owner, age_days=40, messages=messages)

    summary = run("prune_conversations", "--older-than", "30", "--batch-size", "4")

    assert summary.startswith("Deleted 3 conversations (12 messages)")
    assert "in 3 batches" in summary
    assert not Message.objects.exists()


def test_prune_keeps_a_conversation_continued_while_it_runs(owner):
    first = make_conversation(owner=owner, age_days=40, messages=1)
    second = make_conversation(owner=owner, age_days=40, messages=1)

    def owner_continues_second(deleted):
        Conversation.objects.filter(pk=second.pk).update(updated_at=timezone.now())

    report = retention.conversations_delete_in_batches(
        retention.conversations_to_prune(older_than_days=30),
        batch_size=2,
        on_batch=owner_continues_second,
    )

    assert (report.conversations, report.messages) == (1, 1)
    assert list(Conversation.objects.all()) == [second]
    assert not Conversation.objects.filter(pk=first.pk).exists()


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ([], "Give --older-than DAYS or set RETENTION_DAYS."),
        (["--older-than", "0"], "--older-than must be at least 1 day."),
        (["--older-than", "30", "--user", "nobody"], "No user named 'nobody'."),
        (["--older-than", "30", "--batch-size", "0"], "--batch-size must be at least 1."),
    ],
)
def test_prune_refuses_bad_input_and_deletes_nothing(aged, settings, args, error):
    settings.RETENTION_DAYS = None

    with pytest.raises(CommandError, match=error):
        run("prune_conversations", *args)

    assert len(surviving_titles()) == 5


# purge_users


@pytest.fixture
def accounts(db):
    """Two inactive users (one never logged in), one active, inactive staff and superuser."""
    gone = UserFactory(username="gone", last_login=days_ago(400))
    never = UserFactory(username="never")
    User.objects.filter(pk=never.pk).update(date_joined=days_ago(400))
    active = UserFactory(username="active", last_login=days_ago(3))
    UserFactory(username="staffer", is_staff=True, last_login=days_ago(400))
    UserFactory(username="root", is_superuser=True, last_login=days_ago(400))
    for user in (gone, never, active):
        project = ProjectFactory(owner=user)
        conversation = make_conversation(owner=user, project=project, messages=2)
        make_conversation(owner=user, messages=1)
        share(conversation)
        ApiKey.objects.create(user=user, prefix="sk-chat-abc", key_hash=hash_key(user.username))
    return {"gone": gone, "never": never, "active": active}


def usernames() -> set[str]:
    return set(User.objects.values_list("username", flat=True))


def test_purge_users_removes_inactive_accounts_and_all_their_data(accounts):
    summary = run("purge_users", "--inactive-days", "365")

    assert usernames() == {"active", "staffer", "root"}
    active = accounts["active"]
    assert set(Conversation.objects.values_list("owner_id", flat=True)) == {active.pk}
    assert set(Project.objects.values_list("owner_id", flat=True)) == {active.pk}
    assert set(ShareLink.objects.values_list("owner_id", flat=True)) == {active.pk}
    assert set(ApiKey.objects.values_list("user_id", flat=True)) == {active.pk}
    assert Message.objects.count() == 3
    assert summary.startswith(
        "Deleted 2 users inactive for 365 days, with 4 conversations (6 messages)"
    )


def test_purge_users_never_removes_staff_or_superusers(accounts):
    run("purge_users", "--inactive-days", "1")

    assert usernames() == {"staffer", "root"}


def test_purge_users_dry_run_changes_nothing(accounts):
    summary = run("purge_users", "--inactive-days", "365", "--dry-run")

    assert summary == (
        "Dry run: would delete 2 users inactive for 365 days, with 4 conversations (6 messages)."
    )
    assert len(usernames()) == 5
    assert Conversation.objects.count() == 6


def test_purge_users_twice_deletes_nothing_the_second_time(accounts):
    run("purge_users", "--inactive-days", "365")

    summary = run("purge_users", "--inactive-days", "365")

    assert summary.startswith("Deleted 0 users")
    assert usernames() == {"active", "staffer", "root"}


def test_purge_users_spares_whoever_logs_in_while_it_runs(db):
    first = UserFactory(username="first", last_login=days_ago(400))
    second = UserFactory(username="second", last_login=days_ago(400))
    for owner in (first, first, second, second):
        make_conversation(owner=owner, messages=1)
    users = retention.users_to_purge(inactive_days=365)

    def second_logs_in(deleted):
        User.objects.filter(pk=second.pk).update(last_login=timezone.now())

    # Three rows a batch: one conversation (two rows with its message) per transaction.
    report = retention.users_purge(users, batch_size=3, on_batch=second_logs_in)

    assert report.users == 1
    assert usernames() == {"second"}
    assert Conversation.objects.filter(owner=second).count() == 2


@pytest.mark.parametrize("days", ["0", "-5"])
def test_purge_users_refuses_a_non_positive_age(accounts, days):
    with pytest.raises(CommandError, match="--inactive-days must be at least 1."):
        run("purge_users", "--inactive-days", days)

    assert len(usernames()) == 5


def test_purge_users_requires_the_age(accounts):
    with pytest.raises(CommandError, match="--inactive-days"):
        run("purge_users")


# db_maintenance (VACUUM cannot run inside the test's transaction)


def _make_and_free_space(owner):
    for index in range(30):
        conversation = make_conversation(owner=owner, title=f"big{index}", messages=0)
        Message.objects.bulk_create(
            Message(conversation=conversation, role="user", content="x" * 4000) for _ in range(20)
        )
    Conversation.objects.all().delete()


@pytest.mark.django_db(transaction=True)
def test_db_maintenance_gives_freed_space_back(owner):
    _make_and_free_space(owner)

    summary = run("db_maintenance")

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA freelist_count")
            assert cursor.fetchone()[0] == 0
        found = re.search(
            r"on sqlite in .* s; free pages: ([\d,]+) before, 0 after; size: ", summary
        )
        assert found, summary
        assert int(found[1].replace(",", "")) > 0
    else:
        assert summary.startswith("Ran ")
        assert "statements on postgresql" in summary
        assert summary.endswith(" after.")


def _segments() -> dict[str, int]:
    return {
        table: sqlite.fulltext_segments(connection, table)
        for table in ("conversations_message_fts", "conversations_conversation_fts")
    }


@pytest.mark.skipif(connection.vendor != "sqlite", reason="FTS5 segments are SQLite's")
@pytest.mark.django_db(transaction=True)
def test_db_maintenance_merges_each_full_text_index_into_one_segment(owner):
    # Each committed write adds a segment to the FTS5 index; three stay unmerged (FTS5
    # merges four of a level at a time).
    for index in range(3):
        conversation = make_conversation(owner=owner, title=f"segment{index}", messages=0)
        Message.objects.bulk_create(
            Message(conversation=conversation, role="user", content=f"walrus number {index}")
            for _ in range(5)
        )
    before = _segments()
    assert (
        before["conversations_message_fts"] >= 3 and before["conversations_conversation_fts"] >= 3
    )

    run("db_maintenance")

    assert _segments() == {"conversations_message_fts": 1, "conversations_conversation_fts": 1}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM conversations_message_fts "
            "WHERE conversations_message_fts MATCH 'walrus'"
        )
        assert cursor.fetchone()[0] == 15
    assert [r.conversation.title for r in conversation_search(user=owner, query="segment1")] == [
        "segment1"
    ]


@pytest.mark.django_db(transaction=True)
def test_db_maintenance_dry_run_changes_nothing(owner):
    _make_and_free_space(owner)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA freelist_count")
            free_before = cursor.fetchone()[0]

    summary = run("db_maintenance", "--dry-run")

    assert summary.startswith("Dry run: would run ")
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA freelist_count")
            assert cursor.fetchone()[0] == free_before > 0


@pytest.mark.django_db(transaction=True)
def test_db_maintenance_twice_is_harmless(owner):
    run("db_maintenance")

    summary = run("db_maintenance")

    assert summary.startswith("Ran ")


def test_db_maintenance_refuses_to_run_inside_a_transaction(db):
    with pytest.raises(CommandError, match="cannot run inside a transaction"):
        run("db_maintenance")
