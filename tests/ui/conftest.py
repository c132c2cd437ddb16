from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import Conversation, Message
from tests.factories import ConversationFactory, MessageFactory

HTMX = {"HX-Request": "true"}


def htmx_from(url: str) -> dict:
    """Headers of an HTMX request made by a tab showing `url`."""
    return {"HX-Request": "true", "HX-Current-URL": f"http://testserver{url}"}


def make_thread(conversation: Conversation, count: int, *, start=None) -> list[Message]:
    """Give a conversation a chain of `count` alternating messages; the last is the active leaf."""
    start = start or timezone.now() - timedelta(hours=1)
    rows = Message.objects.bulk_create(
        Message(
            conversation=conversation,
            role=Message.Role.USER if i % 2 == 0 else Message.Role.ASSISTANT,
            content=f"Message number {i}",
            model="" if i % 2 == 0 else "demo",
            created_at=start + timedelta(milliseconds=i),
            updated_at=start + timedelta(milliseconds=i),
        )
        for i in range(count)
    )
    for previous, row in zip(rows, rows[1:], strict=False):
        row.parent_id = previous.pk
    Message.objects.bulk_update(rows[1:], ["parent"], batch_size=2000)
    conversation.current_message = rows[-1]
    conversation.message_count = count
    conversation.preview = rows[-1].content
    conversation.save(update_fields=["current_message", "message_count", "preview"])
    return rows


@pytest.fixture
def conversation(owner):
    conv = ConversationFactory(owner=owner, title="Trip planning")
    make_thread(conv, 4)
    return conv


@pytest.fixture
def reply(conversation):
    return conversation.current_message


@pytest.fixture
def user_message(reply):
    return reply.parent


def in_progress_turn(conversation: Conversation) -> Message:
    """Append a user message and a reply still being generated."""
    question = MessageFactory(
        conversation=conversation, parent=conversation.current_message, content="And then?"
    )
    running = MessageFactory(
        conversation=conversation,
        parent=question,
        role=Message.Role.ASSISTANT,
        status=Message.Status.IN_PROGRESS,
        content="Half a rep",
        model="demo",
    )
    conversation.current_message = running
    conversation.save(update_fields=["current_message"])
    return running
