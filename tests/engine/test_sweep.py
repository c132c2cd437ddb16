"""sweep_generations: replies left in_progress by a dead process become incomplete."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone

from conversations import engine
from conversations.models import Message
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def abandoned(conversation, *, seconds_ago: float, content="Half a rep") -> Message:
    user = MessageFactory(conversation=conversation, content="Question")
    return MessageFactory(
        conversation=conversation,
        parent=user,
        role=Message.Role.ASSISTANT,
        status=Message.Status.IN_PROGRESS,
        content=content,
        updated_at=timezone.now() - timedelta(seconds=seconds_ago),
    )


def run(*args) -> str:
    out = StringIO()
    call_command("sweep_generations", *args, stdout=out)
    return out.getvalue()


def test_sweep_marks_stale_replies_incomplete_and_keeps_their_text(conversation, settings):
    settings.GENERATION_TIMEOUT = 60
    stale = abandoned(conversation, seconds_ago=300)
    output = run()
    stale.refresh_from_db()
    assert stale.status == Message.Status.INCOMPLETE
    assert stale.status_reason == "The server stopped while replying."
    assert stale.content == "Half a rep"
    assert output == "Marked 1 abandoned reply as incomplete (no write for 120s).\n"


def test_sweep_leaves_recent_and_live_replies_alone(owner, settings):
    from tests.factories import ConversationFactory

    recent = abandoned(ConversationFactory(owner=owner), seconds_ago=5)
    live = abandoned(ConversationFactory(owner=owner), seconds_ago=300)
    # Another process's engine keeps a heartbeat for the reply it streams.
    cache.set(engine.alive_key(live.pk), 1234, timeout=30)
    try:
        assert "Marked 0 abandoned replies" in run("--older-than", "60")
    finally:
        cache.delete(engine.alive_key(live.pk))
    recent.refresh_from_db()
    live.refresh_from_db()
    assert recent.status == live.status == Message.Status.IN_PROGRESS


def test_sweep_dry_run_counts_without_changing(conversation):
    stale = abandoned(conversation, seconds_ago=300)
    assert run("--dry-run", "--older-than", "10").startswith("Would mark 1 abandoned reply")
    stale.refresh_from_db()
    assert stale.status == Message.Status.IN_PROGRESS


def test_sweep_refuses_a_negative_age(db):
    with pytest.raises(CommandError, match="zero or more"):
        run("--older-than", "-1")


@pytest.mark.django_db(transaction=True)
def test_server_start_sweeps_replies_no_engine_is_running(conversation, monkeypatch):
    stale = abandoned(conversation, seconds_ago=1)
    # Under pytest the start-up sweep never runs...
    monkeypatch.setattr("sys.argv", ["/venv/bin/daphne", "chatbot.asgi:application"])
    engine.sweep_at_startup()
    stale.refresh_from_db()
    assert stale.status == Message.Status.IN_PROGRESS
    # ...in a daphne process it does: nothing can be generating before the server started.
    monkeypatch.delitem(__import__("sys").modules, "pytest")
    engine.sweep_at_startup()
    stale.refresh_from_db()
    assert stale.status == Message.Status.INCOMPLETE
