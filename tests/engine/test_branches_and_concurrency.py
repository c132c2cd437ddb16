"""Regenerate, edit and branch switching; one generation at a time; duplicate sends; status."""

import threading

import pytest
from django.db import close_old_connections, connection

from conversations.models import Conversation, Message
from conversations.selectors import message_path, message_sibling_positions, message_siblings
from conversations.services import (
    ConversationNotOpen,
    GenerationInProgress,
    conversation_switch_branch,
    message_edit,
    message_regenerate,
    message_send,
)
from tests.engine.conftest import wait_final

pytestmark = pytest.mark.django_db(transaction=True)


def thread_texts(conversation: Conversation) -> list[str]:
    conversation.refresh_from_db()
    path = message_path(
        conversation=conversation, leaf_id=conversation.current_message_id, limit=100
    )
    return [m.content for m in path]


def test_regenerate_adds_a_sibling_reply_with_another_model(conversation, fake_openai):
    first = message_send(conversation=conversation, content="Question")
    old = wait_final(first.assistant_message)
    fake_openai.tokens = ["Another", " answer"]
    result = message_regenerate(message=old, model="fake-model-2")
    new = wait_final(result.assistant_message)

    assert new.parent_id == old.parent_id == first.user_message.pk
    assert new.model == "fake-model-2" and new.content == "Another answer"
    assert [m.pk for m in message_siblings(message=old)] == [old.pk, new.pk]
    positions = message_sibling_positions(conversation=conversation, messages=[old, new])
    assert positions == {old.pk: (1, 2), new.pk: (2, 2)}
    assert thread_texts(conversation) == ["Question", "Another answer"]
    old.refresh_from_db()
    assert old.content == fake_openai.reply or old.content  # the old version is untouched
    conversation.refresh_from_db()
    assert conversation.message_count == 3


def test_switching_branches_is_remembered_and_returns_the_newest_leaf(conversation, fake_openai):
    first = message_send(conversation=conversation, content="Question")
    old = wait_final(first.assistant_message)
    follow = message_send(conversation=conversation, content="Follow-up")
    follow_reply = wait_final(follow.assistant_message)
    fake_openai.tokens = ["Version", " two"]
    new = wait_final(message_regenerate(message=old).assistant_message)
    assert thread_texts(conversation) == ["Question", "Version two"]

    leaf = conversation_switch_branch(conversation=conversation, message=old)
    # The old version comes back with everything that followed it.
    assert leaf.pk == follow_reply.pk
    fresh = Conversation.objects.get(pk=conversation.pk)
    assert fresh.current_message_id == follow_reply.pk
    assert thread_texts(fresh)[:3] == ["Question", old.content, "Follow-up"]

    conversation_switch_branch(conversation=conversation, message=new)
    assert thread_texts(conversation) == ["Question", "Version two"]


def test_edit_adds_a_sibling_user_message_with_its_own_reply(conversation, fake_openai):
    first = message_send(conversation=conversation, content="Original question")
    original_reply = wait_final(first.assistant_message)
    fake_openai.tokens = ["Edited", " answer"]
    result = message_edit(message=first.user_message, content="Edited question")
    reply = wait_final(result.assistant_message)

    assert result.user_message.parent_id == first.user_message.parent_id
    assert [m.content for m in message_siblings(message=first.user_message)] == [
        "Original question",
        "Edited question",
    ]
    assert thread_texts(conversation) == ["Edited question", "Edited answer"]
    assert fake_openai.requests[-1]["messages"][-1]["content"] == "Edited question"
    # The original branch stays reachable.
    conversation_switch_branch(conversation=conversation, message=first.user_message)
    assert thread_texts(conversation) == ["Original question", original_reply.content]
    assert reply.status == Message.Status.COMPLETED


def test_repeating_a_send_with_the_same_client_id_creates_nothing(conversation, fake_openai):
    first = message_send(conversation=conversation, content="Once", client_id="abc-1")
    wait_final(first.assistant_message)
    again = message_send(conversation=conversation, content="Once", client_id="abc-1")
    assert not again.created
    assert again.user_message.pk == first.user_message.pk
    assert again.assistant_message.pk == first.assistant_message.pk
    assert conversation.messages.count() == 2
    assert len([r for r in fake_openai.requests if r.get("stream")]) == 1


def test_repeating_an_edit_with_the_same_client_id_creates_nothing(conversation, fake_openai):
    first = message_send(conversation=conversation, content="Once")
    wait_final(first.assistant_message)
    edit = message_edit(message=first.user_message, content="Twice", client_id="edit-1")
    wait_final(edit.assistant_message)
    again = message_edit(message=first.user_message, content="Twice", client_id="edit-1")
    assert not again.created and again.user_message.pk == edit.user_message.pk
    assert conversation.messages.count() == 4


def run_at_once(count: int, target) -> list:
    """Run target(i) in `count` threads released together; return results or exceptions."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[i] = exc
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def needs_concurrent_database():
    settings = connection.settings_dict
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip(
            "Concurrent writers need PostgreSQL or a SQLite file (set SQLITE_TEST_PATH): "
            "the in-memory test database locks whole tables across threads."
        )
    return settings


def test_concurrent_sends_one_wins_the_other_is_refused(conversation, fake_openai):
    needs_concurrent_database()
    fake_openai.token_delay = 0.05  # the winner is still generating when the loser arrives
    results = run_at_once(2, lambda i: message_send(conversation=conversation, content=f"Tab {i}"))
    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], GenerationInProgress)
    assert "still being generated" in lost[0].message
    wait_final(won[0].assistant_message)
    # Nothing interleaved: one user message and its one reply.
    roles = list(conversation.messages.order_by("id").values_list("role", "parent_id"))
    assert roles == [("user", None), ("assistant", won[0].user_message.pk)]


def test_concurrent_duplicate_sends_with_one_client_id_lose_nothing(conversation, fake_openai):
    needs_concurrent_database()
    results = run_at_once(
        3,
        lambda i: message_send(conversation=conversation, content="Same", client_id="dup-1"),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.user_message.pk for r in results}) == 1
    assert sum(r.created for r in results) == 1
    wait_final(results[0].assistant_message)
    assert conversation.messages.count() == 2


def test_a_second_send_while_a_reply_runs_is_refused(conversation):
    user = conversation.messages.create(role=Message.Role.USER, content="Hi")
    conversation.messages.create(
        role=Message.Role.ASSISTANT, parent=user, status=Message.Status.IN_PROGRESS
    )
    with pytest.raises(GenerationInProgress):
        message_send(conversation=conversation, content="Again")
    with pytest.raises(GenerationInProgress):
        message_edit(message=user, content="Edited")
    assert conversation.messages.count() == 2


@pytest.mark.parametrize("status", [Conversation.Status.LOCKED, Conversation.Status.CLOSED])
def test_locked_or_closed_conversation_refuses_sends_regenerations_edits(
    conversation, fake_openai, status
):
    first = message_send(conversation=conversation, content="Before")
    reply = wait_final(first.assistant_message)
    Conversation.objects.filter(pk=conversation.pk).update(
        status=status, status_reason="Under review"
    )
    attempts = [
        lambda: message_send(conversation=conversation, content="After"),
        lambda: message_regenerate(message=reply),
        lambda: message_edit(message=first.user_message, content="Edited"),
        lambda: conversation_switch_branch(conversation=conversation, message=reply),
    ]
    for attempt in attempts:
        with pytest.raises(ConversationNotOpen, match="Under review"):
            attempt()
    assert conversation.messages.count() == 2
    # Reopening restores it.
    Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.ACTIVE)
    wait_final(message_send(conversation=conversation, content="After").assistant_message)
    assert conversation.messages.count() == 4
