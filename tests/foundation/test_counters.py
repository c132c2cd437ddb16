"""The denormalized counters (message_count, token_count, preview, leaf) after every write."""

import io
import json

from conversations.models import Conversation, Message
from conversations.services import (
    conversation_create,
    message_append,
    message_delete,
    message_send,
)
from organise.transfer.export import conversation_export_json
from organise.transfer.importer import import_file
from sharing.selectors import share_get_live
from sharing.services import share_continue, share_create
from tests.factories import ConversationFactory, MessageFactory


def _chat_with_tokens(owner) -> Conversation:
    """Return a two-turn conversation whose replies used tokens, counters as the writer keeps."""
    conversation = ConversationFactory(owner=owner, title="Tokens")
    parent = None
    for n, (used_in, used_out) in enumerate([(10, 5), (30, 7)]):
        asked = MessageFactory(conversation=conversation, parent=parent, content=f"q{n}")
        parent = MessageFactory(
            conversation=conversation,
            parent=asked,
            role=Message.Role.ASSISTANT,
            content=f"a{n}",
            input_tokens=used_in,
            output_tokens=used_out,
        )
    conversation.current_message = parent
    conversation.message_count = 4
    conversation.token_count = 52
    conversation.save()
    return conversation


def _counters(conversation: Conversation) -> tuple:
    conversation.refresh_from_db()
    return (
        conversation.message_count,
        conversation.token_count,
        conversation.preview,
        conversation.current_message.content if conversation.current_message else None,
    )


def test_import_counts_messages_and_tokens(owner, outsider):
    body = json.dumps(conversation_export_json(conversation=_chat_with_tokens(owner)))
    import_file(user=outsider, file=io.BytesIO(body.encode()))
    imported = Conversation.objects.get(owner=outsider)
    assert _counters(imported) == (4, 52, "a1", "a1")


def test_continued_share_counts_messages_and_tokens(owner, outsider):
    conversation = _chat_with_tokens(owner)
    share = share_get_live(token=share_create(user=owner, conversation=conversation).token)
    copy = share_continue(share=share, user=outsider)
    assert _counters(copy) == (4, 52, "a1", "a1")
    assert sum(m.total_tokens for m in copy.messages.all()) == 52


def test_delete_takes_its_messages_and_tokens_off_the_counters(owner):
    conversation = _chat_with_tokens(owner)
    second_question = Message.objects.get(conversation=conversation, content="q1")
    message_delete(message=second_question)
    assert _counters(conversation) == (2, 15, "a0", "a0")


def test_append_and_send_count_what_they_write(owner):
    conversation = conversation_create(owner=owner)
    message_append(conversation=conversation, role="user", content="Hello   there")
    assert _counters(conversation) == (1, 0, "Hello there", "Hello   there")
    message_send(conversation=conversation, content="And now?")
    assert _counters(conversation) == (3, 0, "And now?", "")


def test_preview_is_shortened_with_an_ellipsis(owner):
    conversation = conversation_create(owner=owner)
    message_append(conversation=conversation, role="user", content="word " * 100)
    conversation.refresh_from_db()
    assert len(conversation.preview) == 200
    assert conversation.preview.endswith("…")
