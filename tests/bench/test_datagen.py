import random
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from conversations.counters import make_preview
from conversations.engine.context import build_context
from conversations.llm import estimate_tokens
from conversations.models import Conversation, Message
from conversations.rendering import RENDER_VERSION, message_html
from core import sqlite
from organise.benchdata import TextMaker
from tests.factories import ConversationFactory, MessageFactory

# Deferred foreign keys (current_message, parent) are only checked at a real COMMIT.
pytestmark = pytest.mark.django_db(transaction=True)


def generate(*args: str) -> str:
    out = StringIO()
    call_command("generate_bench_data", "--no-progress", *args, stdout=out)
    return out.getvalue()


def assert_linear_thread(conversation: Conversation) -> None:
    messages = list(conversation.messages.order_by("id"))
    assert conversation.message_count == len(messages)
    if not messages:
        assert conversation.current_message_id is None
        assert conversation.preview == ""
        return
    assert messages[0].parent_id is None
    for previous, message in zip(messages, messages[1:], strict=False):
        assert message.parent_id == previous.pk
        assert message.created_at >= previous.created_at
    roles = [m.role for m in messages]
    assert roles[0::2] == [Message.Role.USER] * len(roles[0::2])
    assert roles[1::2] == [Message.Role.ASSISTANT] * len(roles[1::2])
    assert conversation.current_message_id == messages[-1].pk
    assert conversation.updated_at == messages[-1].created_at
    last_user = [m for m in messages if m.role == Message.Role.USER][-1]
    assert conversation.preview == make_preview(last_user.content)
    assert all(m.content.strip() for m in messages)


def test_creates_requested_users_conversations_and_messages():
    output = generate("--users", "2", "--conversations", "6", "--messages", "5", "--seed", "1")

    users = get_user_model().objects.filter(username__in=["bench1", "bench2"])
    assert users.count() == 2
    assert all(u.check_password("bench") for u in users)
    per_owner = dict(Conversation.objects.values_list("owner__username").annotate(n=Count("id")))
    assert per_owner == {"bench1": 6, "bench2": 6}
    assert Message.objects.count() == 2 * 6 * 5
    assert "12 conversations and 60 messages" in output


def test_every_conversation_is_a_linear_thread_ending_at_current_message():
    generate("--users", "1", "--conversations", "20", "--messages", "7", "--seed", "2")

    for conversation in Conversation.objects.all():
        assert_linear_thread(conversation)


def test_message_range_gives_varied_counts_within_bounds():
    generate("--conversations", "60", "--messages", "0-9", "--seed", "3")

    counts = [c.message_count for c in Conversation.objects.all()]
    assert min(counts) >= 0 and max(counts) <= 9
    assert len(set(counts)) > 3
    assert Message.objects.count() == sum(counts)
    for conversation in Conversation.objects.all():
        assert_linear_thread(conversation)


def test_activity_is_spread_over_two_years_with_recent_days_present():
    generate("--conversations", "200", "--messages", "2", "--seed", "4")

    now = timezone.now()
    stamps = sorted(Conversation.objects.values_list("updated_at", flat=True))
    assert stamps[-1] <= now
    assert stamps[-1] > now - timedelta(days=1)
    assert stamps[0] < now - timedelta(days=365)
    # The sidebar's groups: yesterday-ish, the last week, the last month, older months.
    for low, high in [(1, 2), (2, 7), (7, 30), (30, 365)]:
        assert any(now - timedelta(days=high) < s <= now - timedelta(days=low) for s in stamps)


def test_second_run_adds_data_reuses_users_and_leaves_ids_usable():
    generate("--users", "2", "--conversations", "3", "--messages", "4", "--seed", "5")
    output = generate("--users", "2", "--conversations", "3", "--messages", "4", "--seed", "5")

    assert "(0 new)" in output
    assert get_user_model().objects.filter(username__startswith="bench").count() == 2
    assert Conversation.objects.count() == 12
    assert Message.objects.count() == 48
    for conversation in Conversation.objects.all():
        assert_linear_thread(conversation)
    # The id sequences moved past the loaded rows: ordinary inserts still work.
    conversation = ConversationFactory()
    message = MessageFactory(conversation=conversation)
    assert conversation.pk > Conversation.objects.exclude(pk=conversation.pk).latest("pk").pk
    assert message.pk > Message.objects.exclude(pk=message.pk).latest("pk").pk


def test_public_ids_are_unique_and_opaque():
    generate("--conversations", "10", "--messages", "3")

    conversation_ids = list(Conversation.objects.values_list("public_id", flat=True))
    message_ids = list(Message.objects.values_list("public_id", flat=True))
    assert len(set(conversation_ids)) == 10
    assert len(set(message_ids)) == 30
    assert all(i.startswith("conv_") for i in conversation_ids)
    assert all(i.startswith("msg_") for i in message_ids)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--messages", "9-2"], "MIN must not be larger than MAX"),
        (["--messages", "lots"], "give N or MIN-MAX"),
        (["--conversations", "-3"], "must not be negative"),
        (["--users", "0"], "--users must be at least 1"),
    ],
)
def test_bad_arguments_are_clear_errors_and_write_nothing(args, error):
    with pytest.raises(CommandError, match=error):
        generate(*args)

    assert not Conversation.objects.exists()
    assert not get_user_model().objects.exists()


def test_token_figures_are_what_the_engine_would_store(settings):
    # A small budget, so the long thread's context is trimmed many times over.
    settings.DEFAULT_CONTEXT_TOKENS = 900
    settings.REPLY_RESERVE_TOKENS = 100
    settings.MODEL_CONTEXT_TOKENS = {}
    generate("--users", "1", "--conversations", "1", "--messages", "120", "--seed", "5")

    conversation = Conversation.objects.get()
    messages = list(conversation.messages.order_by("id"))
    replies = [m for m in messages if m.role == Message.Role.ASSISTANT]
    for reply in replies:
        # What reply_finish stores: the estimate of the context build_context sends.
        context, _ = build_context(
            conversation=conversation, leaf_id=reply.parent_id, model=reply.model
        )
        assert reply.input_tokens == sum(estimate_tokens(m["content"]) for m in context)
        assert reply.output_tokens == estimate_tokens(reply.content)
    for user_message in messages[0::2]:
        assert user_message.input_tokens == user_message.output_tokens == 0
    assert conversation.token_count == sum(m.total_tokens for m in messages)
    # Trimming happened: the newest reply's context is far smaller than the whole thread.
    whole = sum(estimate_tokens(m.content) for m in messages[:-1])
    assert replies[-1].input_tokens <= 800 < whole


def test_messages_carry_the_html_the_app_would_store():
    generate("--users", "1", "--conversations", "3", "--messages", "12", "--seed", "6")

    for message in Message.objects.all():
        assert message.render_version == RENDER_VERSION
        assert message.content_html == message_html(message.content)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="FTS5 segments are SQLite's")
def test_the_generated_full_text_index_is_one_segment_as_db_maintenance_leaves_it():
    generate("--users", "2", "--conversations", "6", "--messages", "5", "--seed", "1")
    generate("--users", "3", "--conversations", "6", "--messages", "5", "--seed", "2")

    assert sqlite.fulltext_segments(connection, "conversations_message_fts") == 1
    assert sqlite.fulltext_segments(connection, "conversations_conversation_fts") == 1


def _user_sentences(prefix: str) -> set[str]:
    contents = Message.objects.filter(
        conversation__owner__username__startswith=prefix, role=Message.Role.USER
    ).values_list("content", flat=True)
    return {sentence for content in contents for sentence in re.split(r"(?<=[.?!]) ", content)}


def test_a_text_seed_shares_the_sentence_pool_between_runs_of_different_seeds():
    common = ["--conversations", "8", "--messages", "6", "--text-seed", "9"]
    generate("--prefix", "left", "--seed", "1", *common)
    generate("--prefix", "right", "--seed", "2", *common)
    generate("--prefix", "own", "--seed", "3", "--conversations", "8", "--messages", "6")
    pool = set(TextMaker(random.Random(0), pool_rng=random.Random(9)).sentences)

    left, right, own = (_user_sentences(prefix) for prefix in ("left", "right", "own"))
    assert left and right and own
    assert left <= pool and right <= pool
    # The runs differ where their seeds do: which sentences, lengths and dates.
    assert left != right
    # Without a text seed, the pool comes from the run's own seed.
    assert not own & pool
