"""Builders for the ops tests: conversations with message chains, share links."""

from datetime import timedelta

from django.utils import timezone

from sharing.models import ShareLink
from tests.factories import ConversationFactory, MessageFactory


def days_ago(days: int):
    return timezone.now() - timedelta(days=days)


def make_conversation(*, owner, messages: int = 2, age_days: int = 0, **fields):
    """Create a conversation with a chain of messages, last updated age_days ago."""
    when = days_ago(age_days)
    conversation = ConversationFactory(owner=owner, updated_at=when, created_at=when, **fields)
    parent = None
    for index in range(messages):
        parent = MessageFactory(
            conversation=conversation,
            parent=parent,
            role="user" if index % 2 == 0 else "assistant",
            content=f"message {index} of {conversation.title}",
        )
    conversation.message_count = messages
    conversation.current_message = parent
    conversation.save(update_fields=["message_count", "current_message"])
    return conversation


def share(conversation, **fields):
    return ShareLink.objects.create(
        owner=conversation.owner,
        conversation=conversation,
        message=conversation.current_message,
        **fields,
    )
