"""Stop after the engine died: the reply is stopped at once and the conversation accepts more."""

import time

from django.core.cache import cache

from conversations import engine, selectors, services
from conversations.engine import state
from conversations.models import Message
from tests.factories import ConversationFactory


def test_heartbeat_is_short_by_default():
    assert engine.HEARTBEAT_INTERVAL <= 1
    assert engine.heartbeat_ttl() <= 3


def test_stop_with_no_live_engine_is_immediate(owner):
    conversation = ConversationFactory(owner=owner, title="Trip")
    result = services.message_send(conversation=conversation, content="Hello")
    reply = result.assistant_message
    # A killed process: nothing in this process runs it and its heartbeat key is gone.
    state.running.pop(reply.pk, None)
    cache.delete(engine.alive_key(reply.pk))
    Message.objects.filter(pk=reply.pk).update(status=Message.Status.IN_PROGRESS, content="Part")
    started = time.monotonic()
    stopped = services.message_stop(message=reply)
    assert time.monotonic() - started < 1
    assert stopped.status == Message.Status.STOPPED
    assert stopped.content == "Part"
    conversation.refresh_from_db()
    assert selectors.message_generating(conversation=conversation) is None
    again = services.message_send(conversation=conversation, content="Still there?")
    assert again.user_message.content == "Still there?"
