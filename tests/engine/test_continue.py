"""Continue: a reply that stopped or was cut off grows in the same message.

Against the local OpenAI-format server and the demo model: the stored text is kept and
extended, usage adds up, writes stay batched, and every socket streams the message again.
"""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations import engine
from conversations.engine.context import CONTINUE_INSTRUCTION
from conversations.llm.demo import CONTINUATION, compose_reply
from conversations.models import Conversation, Message
from conversations.services import (
    ConversationNotOpen,
    GenerationInProgress,
    MessageNotContinuable,
    message_continue,
    message_send,
)
from tests.engine.conftest import frames_until, open_socket, session_cookie, wait_final
from tests.engine.test_stream_frames import apply, frame_parts, is_final
from tests.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db(transaction=True)

FIRST = ["First", " part", " of", " the", " reply", " that", " never", " ends"]
REST = [" and", " here", " is", " the", " rest", "."]


def cut_reply(conversation, fake_openai, tokens=FIRST, after=4) -> Message:
    """Send a message whose reply the upstream cuts off after `after` tokens."""
    fake_openai.tokens, fake_openai.cut_after = list(tokens), after
    reply = wait_final(message_send(conversation=conversation, content="Go on").assistant_message)
    assert reply.status == Message.Status.INCOMPLETE
    fake_openai.cut_after = None
    return reply


def stored_turn(conversation, *, content: str, status: str, model: str = "demo") -> Message:
    """Store a question and its reply with `status`, the reply the active leaf."""
    question = MessageFactory(conversation=conversation, role="user", content="Explain sourdough")
    reply = MessageFactory(
        conversation=conversation, parent=question, role="assistant", content=content,
        status=status, model=model, input_tokens=7, output_tokens=5,
    )  # fmt: skip
    conversation.current_message = reply
    conversation.message_count = 2
    conversation.token_count = 12
    conversation.save(update_fields=["current_message", "message_count", "token_count"])
    return reply


def test_continue_extends_the_same_message_and_adds_its_usage(conversation, fake_openai):
    cut = cut_reply(conversation, fake_openai)
    prefix = "".join(FIRST[:4])
    assert cut.content == prefix
    conversation.refresh_from_db()
    tokens_before, count_before = conversation.token_count, conversation.message_count
    fake_openai.tokens = list(REST)

    reply = message_continue(user=conversation.owner, message=cut)
    reply = wait_final(reply)

    assert reply.pk == cut.pk and reply.status == Message.Status.COMPLETED
    assert reply.content == prefix + "".join(REST)
    assert reply.status_reason == ""
    # The model got the thread up to the partial reply, then the one instruction.
    sent = [r for r in fake_openai.requests if r.get("stream")][-1]["messages"]
    assert sent[-3:] == [
        {"role": "user", "content": "Go on"},
        {"role": "assistant", "content": prefix},
        {"role": "user", "content": CONTINUE_INSTRUCTION},
    ]
    usage = fake_openai.usages[-1]
    assert reply.input_tokens == cut.input_tokens + usage["prompt_tokens"]
    assert reply.output_tokens == cut.output_tokens + usage["completion_tokens"]
    conversation.refresh_from_db()
    assert conversation.token_count == tokens_before + usage["total_tokens"]
    assert conversation.message_count == count_before == 2
    assert conversation.messages.count() == 2
    assert conversation.current_message_id == reply.pk
    assert conversation.preview == reply.content


def test_a_reply_cut_again_keeps_both_parts_and_can_go_on_once_more(conversation, fake_openai):
    cut = cut_reply(conversation, fake_openai)
    fake_openai.tokens, fake_openai.cut_after = list(REST), 2
    again = wait_final(message_continue(user=conversation.owner, message=cut))
    assert again.status == Message.Status.INCOMPLETE
    assert again.content == "".join(FIRST[:4] + REST[:2])
    fake_openai.tokens, fake_openai.cut_after = [" done."], None
    done = wait_final(message_continue(user=conversation.owner, message=again))
    assert done.content == "".join(FIRST[:4] + REST[:2]) + " done."
    assert done.status == Message.Status.COMPLETED


def test_the_demo_model_continues_its_own_reply_exactly(owner, settings):
    settings.CHAT_MODELS = ["demo"]
    settings.DEMO_TOKEN_DELAY = 0
    conversation = ConversationFactory(owner=owner, title="Bread")
    whole = compose_reply("Explain sourdough")
    reply = stored_turn(conversation, content=whole[:90], status=Message.Status.STOPPED)

    done = wait_final(message_continue(user=owner, message=reply))

    assert done.pk == reply.pk and done.status == Message.Status.COMPLETED
    assert done.content == whole
    assert done.output_tokens == 5 + (len(whole) - 90 + 3) // 4


def test_the_demo_model_ends_text_it_did_not_write_with_a_closing_line(owner, settings):
    settings.CHAT_MODELS = ["demo"]
    settings.DEMO_TOKEN_DELAY = 0
    conversation = ConversationFactory(owner=owner)
    reply = stored_turn(conversation, content="Something else", status=Message.Status.INCOMPLETE)
    done = wait_final(message_continue(user=owner, message=reply))
    assert done.content == "Something else" + CONTINUATION


def test_continued_text_is_written_every_flush_interval_never_per_token(
    conversation, fake_openai, settings
):
    cut = cut_reply(conversation, fake_openai)
    settings.GENERATION_FLUSH_INTERVAL = 0.1
    fake_openai.tokens = [f" tok{i}" for i in range(80)]
    fake_openai.token_delay = 0.01  # about 0.8 s of streaming
    with CaptureQueriesContext(connection) as queries:
        reply = wait_final(message_continue(user=conversation.owner, message=cut))
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("UPDATE") and '"conversations_message"' in q["sql"]
    ]
    # The service's status write, about one per 0.1 s, the final one: never one per token.
    assert 3 <= len(writes) <= 0.8 / 0.1 * 2 + 3
    assert len(writes) < len(fake_openai.tokens) / 4
    assert reply.content == cut.content + fake_openai.reply


@pytest.mark.parametrize(
    ("status", "content"),
    [
        (Message.Status.COMPLETED, "All said."),
        (Message.Status.FAILED, ""),
        (Message.Status.STOPPED, "   "),
    ],
)
def test_only_a_reply_that_ended_early_with_text_continues(owner, status, content):
    conversation = ConversationFactory(owner=owner)
    reply = stored_turn(conversation, content=content, status=status)
    with pytest.raises(MessageNotContinuable) as caught:
        message_continue(user=owner, message=reply)
    assert caught.value.status_code == 409
    reply.refresh_from_db()
    assert reply.status == status


def test_a_failed_reply_with_text_continues(owner, fake_openai):
    conversation = ConversationFactory(owner=owner)
    reply = stored_turn(
        conversation, content="Half", status=Message.Status.FAILED, model="fake-model"
    )
    fake_openai.tokens = [" and half."]
    done = wait_final(message_continue(user=owner, message=reply))
    assert (done.status, done.content) == (Message.Status.COMPLETED, "Half and half.")


def test_only_the_active_leaf_and_only_a_reply_continue(owner):
    conversation = ConversationFactory(owner=owner)
    reply = stored_turn(conversation, content="Cut", status=Message.Status.STOPPED)
    follow = MessageFactory(conversation=conversation, parent=reply, role="user", content="More")
    Conversation.objects.filter(pk=conversation.pk).update(current_message=follow)
    for message in (reply, follow):
        with pytest.raises(MessageNotContinuable):
            message_continue(user=owner, message=message)


def test_a_locked_or_busy_conversation_refuses_and_so_does_another_user(owner, outsider):
    from django.core.exceptions import ValidationError

    conversation = ConversationFactory(owner=owner)
    reply = stored_turn(conversation, content="Cut", status=Message.Status.STOPPED)
    with pytest.raises(ValidationError):
        message_continue(user=outsider, message=reply)
    Conversation.objects.filter(pk=conversation.pk).update(
        status=Conversation.Status.LOCKED, status_reason="Under review"
    )
    with pytest.raises(ConversationNotOpen, match="Under review"):
        message_continue(user=owner, message=reply)
    Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.ACTIVE)
    # A reply running elsewhere in the conversation (another branch) blocks it too.
    MessageFactory(
        conversation=conversation, parent=reply.parent, role="assistant",
        status=Message.Status.IN_PROGRESS,
    )  # fmt: skip
    with pytest.raises(GenerationInProgress):
        message_continue(user=owner, message=reply)
    reply.refresh_from_db()
    assert reply.status == Message.Status.STOPPED


async def test_a_socket_that_saw_the_reply_end_streams_it_again(
    owner, conversation, fake_openai, fast_engine
):
    paragraphs = [f"Paragraph {i} tells of item {i}." for i in range(6)]
    tokens = []
    for paragraph in paragraphs:
        tokens += [f"{word} " for word in paragraph.split()] + ["\n\n"]
    cookie = await sync_to_async(session_cookie)(owner)
    communicator, connected = await open_socket(f"/ws/chat/{conversation.public_id}/", cookie)
    assert connected
    fake_openai.tokens, fake_openai.cut_after = tokens, 14  # two paragraphs and a bit
    fake_openai.token_delay = 0.01
    sent = await database_sync_to_async(message_send)(conversation=conversation, content="Hi")
    reply = sent.assistant_message
    await frames_until(communicator, is_final(reply.public_id))
    await engine.wait_for_running()
    await database_sync_to_async(reply.refresh_from_db)()
    assert reply.status == Message.Status.INCOMPLETE
    prefix = reply.content

    fake_openai.tokens, fake_openai.cut_after = tokens[14:], None
    await database_sync_to_async(message_continue)(user=owner, message=reply)
    frames = await frames_until(communicator, is_final(reply.public_id))
    await engine.wait_for_running()
    await communicator.disconnect()

    # First the running copy takes the ended one's place, showing the stored text.
    started = frames[0]
    assert f'data-replaces="message-{reply.public_id}"' in started
    assert 'data-status="in_progress"' in started and "Paragraph 1 tells" in started
    streamed, final = frames[1:-1], frames[-1]
    assert streamed, "the continued reply streamed no frame"
    # Then frames from 1, the first replacing what the page showed whole.
    first = frame_parts(streamed[0])
    assert (first["seq"], first["kind"]) == (1, "replace")
    blocks, tail, seqs = apply(streamed)
    assert seqs == list(range(1, len(seqs) + 1))
    shown = blocks + tail
    for paragraph in paragraphs[:-1]:
        assert shown.count(paragraph) == 1
    await database_sync_to_async(reply.refresh_from_db)()
    assert reply.status == Message.Status.COMPLETED
    assert reply.content == prefix + "".join(tokens[14:])
    assert 'data-status="completed"' in final and paragraphs[-1] in final


def test_a_resumed_renderer_answers_a_resync_with_the_text_and_replaces_it_next():
    from conversations.engine.blocks import BlockRenderer
    from conversations.rendering import render_markdown

    renderer = BlockRenderer()
    renderer.resume("One.\n\nTwo is op")
    # Frame 0: what a socket asking before the first new token gets.
    assert renderer.seq == 0
    assert renderer.closed_html == render_markdown("One.\n\n")
    assert "Two is op" in renderer.tail_html
    frame = renderer.feed("One.\n\nTwo is open.\n\n")
    assert (frame.seq, frame.reset, frame.tail_keep) == (1, True, 0)
    assert "One." in frame.append_html and "Two is open." in frame.append_html
    assert not renderer.feed("One.\n\nTwo is open.\n\nThree").reset
