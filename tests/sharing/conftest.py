"""A conversation world for share tests: a two-turn branch, a sibling branch, a later turn."""

from dataclasses import dataclass

import pytest

from conversations.models import Conversation, Message
from tests.factories import ConversationFactory, MessageFactory


def add_turn(conversation: Conversation, parent: Message | None, question: str, answer: str):
    """Append a user message and its completed reply under parent; move the leaf there."""
    asked = MessageFactory(
        conversation=conversation, parent=parent, role=Message.Role.USER, content=question
    )
    replied = MessageFactory(
        conversation=conversation,
        parent=asked,
        role=Message.Role.ASSISTANT,
        content=answer,
        model="secret-model-7b",
    )
    conversation.current_message = replied
    conversation.message_count = Message.objects.filter(conversation=conversation).count()
    conversation.save(update_fields=["current_message", "message_count"])
    return asked, replied


@dataclass
class Chat:
    conversation: Conversation
    q1: Message
    a1: Message
    q2: Message
    a2: Message
    # A sibling of q2 (an edit), on another branch.
    other_q: Message
    other_a: Message


@pytest.fixture
def chat(owner) -> Chat:
    conversation = ConversationFactory(owner=owner, title="Trip to Lisbon")
    q1, a1 = add_turn(conversation, None, "Where should I eat?", "Try **Cervejaria Ramiro**.")
    other_q, other_a = add_turn(conversation, a1, "Branch question", "Branch answer")
    q2, a2 = add_turn(conversation, a1, "And for dessert?", "Pastéis de nata.")
    return Chat(conversation, q1, a1, q2, a2, other_q, other_a)
