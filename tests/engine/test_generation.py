"""Generation against the local OpenAI-format server: outcomes, faults, writes, context, usage.

Each test asserts what the database holds afterwards: the user message kept, the stored text
equal to what was streamed, exactly one final status, nothing left in_progress.
"""

import asyncio
import random

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations import engine
from conversations.models import Conversation, Message
from conversations.services import message_send, message_stop
from tests.engine.conftest import wait_final
from tests.factories import ConversationFactory, MessageFactory, ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)


def assert_settled(conversation: Conversation, user_text: str) -> None:
    """The user message is kept and no reply is left in_progress."""
    assert conversation.messages.filter(role=Message.Role.USER, content=user_text).exists()
    assert not conversation.messages.filter(status=Message.Status.IN_PROGRESS).exists()


def test_completed_reply_stores_text_model_usage_and_call_id(conversation, fake_openai):
    result = message_send(conversation=conversation, content="Hi there", model="fake-model-2")
    reply = wait_final(result.assistant_message)
    conversation.refresh_from_db()

    assert reply.status == Message.Status.COMPLETED and reply.status_reason == ""
    assert reply.content == fake_openai.reply
    assert reply.model == "fake-model-2"
    assert fake_openai.requests[0]["model"] == "fake-model-2"
    usage = fake_openai.usages[0]
    assert (reply.input_tokens, reply.output_tokens) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )
    assert reply.call_id.startswith("chatcmpl-")
    assert conversation.token_count == usage["total_tokens"]
    assert conversation.preview == fake_openai.reply
    assert conversation.current_message_id == reply.pk
    assert_settled(conversation, "Hi there")


def test_tokens_are_counted_when_the_provider_reports_no_usage(conversation, fake_openai):
    fake_openai.include_usage = False
    result = message_send(conversation=conversation, content="Count me" * 10)
    reply = wait_final(result.assistant_message)
    conversation.refresh_from_db()
    assert reply.input_tokens == (len("Count me" * 10) + 3) // 4
    assert reply.output_tokens == (len(fake_openai.reply) + 3) // 4
    assert conversation.token_count == reply.input_tokens + reply.output_tokens


def test_upstream_500_before_first_token_fails_with_reason(conversation, fake_openai):
    fake_openai.fail_status, fake_openai.fail_times = 500, 1
    result = message_send(conversation=conversation, content="Anyone home?")
    reply = wait_final(result.assistant_message)
    assert reply.status == Message.Status.FAILED
    assert reply.content == ""
    assert "500" in reply.status_reason and "fake upstream failed" in reply.status_reason
    conversation.refresh_from_db()
    assert conversation.title == ""  # only a completed first turn earns a title
    assert_settled(conversation, "Anyone home?")


def test_connection_cut_after_n_tokens_keeps_partial_as_incomplete(conversation, fake_openai):
    fake_openai.cut_after = 4
    result = message_send(conversation=conversation, content="Go on")
    reply = wait_final(result.assistant_message)
    assert reply.status == Message.Status.INCOMPLETE
    assert reply.content == "".join(fake_openai.tokens[:4])
    assert "broke off" in reply.status_reason
    assert_settled(conversation, "Go on")


def test_silence_past_the_timeout_keeps_partial_as_incomplete(conversation, fake_openai, settings):
    settings.GENERATION_TIMEOUT = 0.4
    fake_openai.stall_after, fake_openai.stall_seconds = 3, 3
    result = message_send(conversation=conversation, content="Slowly")
    reply = wait_final(result.assistant_message)
    assert reply.status == Message.Status.INCOMPLETE
    assert reply.content == "".join(fake_openai.tokens[:3])
    assert reply.status_reason == "No reply from the model for 0.4 seconds."
    assert_settled(conversation, "Slowly")


def test_partial_text_is_written_every_flush_interval_never_per_token(
    conversation, fake_openai, settings
):
    settings.GENERATION_FLUSH_INTERVAL = 0.1
    fake_openai.tokens = [f" tok{i}" for i in range(80)]
    fake_openai.token_delay = 0.01  # about 0.8 s of streaming
    with CaptureQueriesContext(connection) as queries:
        result = message_send(conversation=conversation, content="Stream a lot")
    reply = wait_final(result.assistant_message)
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("UPDATE") and '"conversations_message"' in q["sql"]
    ]
    # About one write per 0.1 s plus the final one: a handful, never one per token.
    assert 3 <= len(writes) <= 0.8 / 0.1 * 2 + 2
    assert len(writes) < len(fake_openai.tokens) / 4
    assert reply.content == fake_openai.reply


def test_first_completed_turn_titles_the_conversation(conversation, fake_openai):
    fake_openai.title = '"Greetings and salutations."'
    result = message_send(conversation=conversation, content="Hello")
    wait_final(result.assistant_message)
    conversation.refresh_from_db()
    assert conversation.title == "Greetings and salutations"
    titles = [r for r in fake_openai.requests if not r.get("stream")]
    assert len(titles) == 1 and titles[0]["max_tokens"] <= 32


def test_title_falls_back_to_the_first_message_when_the_title_call_fails(conversation, fake_openai):
    fake_openai.fail_titles = True
    result = message_send(
        conversation=conversation, content="how do I bake sourdough bread at home?"
    )
    wait_final(result.assistant_message)
    conversation.refresh_from_db()
    assert conversation.title == "How do I bake sourdough bread"


def test_a_titled_conversation_keeps_its_title(owner, fake_openai):
    conversation = ConversationFactory(owner=owner, title="Mine")
    wait_final(message_send(conversation=conversation, content="Hello").assistant_message)
    conversation.refresh_from_db()
    assert conversation.title == "Mine"


def test_context_holds_project_instructions_and_trims_oldest_first(owner, fake_openai, settings):
    settings.MODEL_CONTEXT_TOKENS = {"fake-model": 200}
    settings.REPLY_RESERVE_TOKENS = 50
    project = ProjectFactory(owner=owner, instructions="Answer like a pirate.")
    conversation = ConversationFactory(owner=owner, project=project)
    parent = None
    for i in range(30):
        role = Message.Role.USER if i % 2 == 0 else Message.Role.ASSISTANT
        parent = MessageFactory(
            conversation=conversation, parent=parent, role=role, content=f"old message {i:02d} " * 5
        )
    Conversation.objects.filter(pk=conversation.pk).update(current_message=parent, message_count=30)
    conversation.refresh_from_db()

    wait_final(message_send(conversation=conversation, content="Newest question").assistant_message)

    sent = fake_openai.requests[0]["messages"]
    assert sent[0] == {"role": "system", "content": "Answer like a pirate."}
    assert sent[-1] == {"role": "user", "content": "Newest question"}
    history = [m["content"] for m in sent[1:-1]]
    assert 0 < len(history) < 30
    # The newest history survives, oldest first, contiguous up to the question.
    assert history[-1].startswith("old message 29")
    assert history == [f"old message {i:02d} " * 5 for i in range(30 - len(history), 30)]
    budget = 200 - 50
    assert sum((len(m["content"]) + 3) // 4 + 4 for m in sent) <= budget
    # Stored history is never deleted.
    assert conversation.messages.count() == 32


def test_regenerated_reply_uses_the_active_branch_only(owner, fake_openai):
    from conversations.services import message_regenerate

    conversation = ConversationFactory(owner=owner)
    first = message_send(conversation=conversation, content="Question one")
    wait_final(first.assistant_message)
    fake_openai.tokens = ["Second", " version"]
    second = message_regenerate(message=first.assistant_message)
    wait_final(second.assistant_message)
    # The sibling reply is not part of its own context.
    assert fake_openai.requests[-1]["messages"] == [{"role": "user", "content": "Question one"}]


async def test_stop_at_random_points_keeps_exactly_what_was_streamed(
    owner, fake_openai, fast_engine
):
    fake_openai.tokens = [f" w{i}" for i in range(200)]
    fake_openai.token_delay = 0.005
    rng = random.Random(4)
    for _ in range(4):
        conversation = await database_sync_to_async(ConversationFactory)(owner=owner)
        result = await database_sync_to_async(message_send)(
            conversation=conversation, content="Long answer please"
        )
        reply = result.assistant_message
        await asyncio.sleep(rng.uniform(0.05, 0.5))
        await database_sync_to_async(message_stop)(message=reply)
        await engine.wait_for_running()
        await database_sync_to_async(reply.refresh_from_db)()
        assert reply.status == Message.Status.STOPPED
        assert reply.status_reason == "Stopped by user."
        assert reply.content and fake_openai.reply.startswith(reply.content)
        assert reply.content.endswith(fake_openai.tokens[reply.content.count(" w") - 1])
        assert fake_openai.streams_finished == 0  # the upstream was closed, not drained
        await database_sync_to_async(assert_settled)(conversation, "Long answer please")


async def test_stop_seen_through_the_flag_when_the_event_is_lost(
    owner, fake_openai, fast_engine, monkeypatch
):
    fake_openai.tokens = [f" w{i}" for i in range(200)]
    fake_openai.token_delay = 0.005
    # The stop event never arrives (as if the channel layer dropped it).
    monkeypatch.setattr("core.events.generation_stop", lambda **kwargs: None)
    conversation = await database_sync_to_async(ConversationFactory)(owner=owner)
    result = await database_sync_to_async(message_send)(conversation=conversation, content="Go")
    await asyncio.sleep(0.2)
    await database_sync_to_async(message_stop)(message=result.assistant_message)
    await engine.wait_for_running()
    reply = result.assistant_message
    await database_sync_to_async(reply.refresh_from_db)()
    assert reply.status == Message.Status.STOPPED
    assert 0 < len(reply.content) < len(fake_openai.reply)


def test_stop_with_no_engine_alive_marks_the_reply_stopped(conversation):
    user = MessageFactory(conversation=conversation, content="Left behind")
    reply = MessageFactory(
        conversation=conversation,
        parent=user,
        role=Message.Role.ASSISTANT,
        status=Message.Status.IN_PROGRESS,
        content="Half an ans",
    )
    message_stop(message=reply)
    reply.refresh_from_db()
    assert reply.status == Message.Status.STOPPED
    assert reply.content == "Half an ans"
    assert_settled(conversation, "Left behind")


def test_stop_after_the_end_changes_nothing(conversation, fake_openai):
    result = message_send(conversation=conversation, content="Quick")
    reply = wait_final(result.assistant_message)
    message_stop(message=reply)
    reply.refresh_from_db()
    assert reply.status == Message.Status.COMPLETED


async def test_liveness_keys_outlive_their_ttl_refreshed_together_by_the_flusher(
    owner, fake_openai, fast_engine, monkeypatch
):
    from django.core.cache import cache

    from conversations.engine import state, store

    # Beats every 0.2 s, keys that lapse after 1 s: the replies stream for about 2.4 s.
    monkeypatch.setattr("conversations.engine.flusher.HEARTBEAT_INTERVAL", 0.2)
    monkeypatch.setattr(state, "HEARTBEAT_INTERVAL", 0.2)
    fast_engine.GENERATION_HEARTBEAT_TTL = 1
    beats: list[list[int]] = []

    def counted(message_ids):
        beats.append(sorted(message_ids))
        state.mark_alive_many(message_ids)

    monkeypatch.setattr(store, "mark_alive_many", counted)
    fake_openai.tokens = [f" w{i}" for i in range(60)]
    fake_openai.token_delay = 0.04
    replies = []
    for n in range(3):
        conversation = await database_sync_to_async(ConversationFactory)(owner=owner)
        result = await database_sync_to_async(message_send)(
            conversation=conversation, content=f"Answer {n}"
        )
        replies.append(result.assistant_message)
    ids = sorted(reply.pk for reply in replies)
    for _ in range(100):
        if len(state.running) == 3:
            break
        await asyncio.sleep(0.02)
    checks = 0
    while len(state.running) == 3:
        assert all(cache.get(state.alive_key(pk)) is not None for pk in ids)
        checks += 1
        await asyncio.sleep(0.1)
    await engine.wait_for_running()
    assert checks >= 15  # past the keys' 1 s lifetime, more than once over
    # One cache call a beat for every reply streaming here, not one per reply.
    assert ids in beats
    assert len(beats) < checks
    for reply in replies:
        await database_sync_to_async(reply.refresh_from_db)()
        assert reply.status == Message.Status.COMPLETED
        assert cache.get(state.alive_key(reply.pk)) is None
