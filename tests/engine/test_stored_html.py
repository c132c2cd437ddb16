"""A reply's HTML is stored when its text becomes final: at the end, on Stop, by the sweeper."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.engine.store import sweep_generations
from conversations.models import Message
from conversations.rendering import RENDER_VERSION, message_html
from conversations.services import message_send, message_stop
from tests.engine.conftest import wait_final
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db(transaction=True)


def assert_stored(message: Message) -> None:
    assert message.render_version == RENDER_VERSION
    assert message.content_html == message_html(message.content)


def test_a_finished_reply_stores_the_html_of_its_final_text(conversation, fake_openai):
    fake_openai.tokens = ["Use ", "**bold**", " and\n\n", "- a list\n", "- of two"]
    result = message_send(conversation=conversation, content="Format *this*")
    reply = wait_final(result.assistant_message)
    assert reply.content == "Use **bold** and\n\n- a list\n- of two"
    assert_stored(reply)
    assert "<strong>bold</strong>" in reply.content_html and "<li>of two</li>" in reply.content_html
    assert_stored(Message.objects.get(pk=result.user_message.pk))


def test_a_failed_reply_stores_empty_html(conversation, fake_openai):
    fake_openai.fail_status, fake_openai.fail_times = 500, 1
    reply = wait_final(message_send(conversation=conversation, content="Hi").assistant_message)
    assert reply.status == Message.Status.FAILED
    assert (reply.content_html, reply.render_version) == ("", RENDER_VERSION)


def in_progress(conversation, text: str, **kwargs) -> Message:
    user = MessageFactory(conversation=conversation, content="Question")
    return MessageFactory(
        conversation=conversation,
        parent=user,
        role=Message.Role.ASSISTANT,
        status=Message.Status.IN_PROGRESS,
        content=text,
        **kwargs,
    )


def test_stop_with_no_engine_stores_the_html_of_the_partial_text(conversation):
    reply = in_progress(conversation, "Half an **ans")
    message_stop(message=reply)
    reply.refresh_from_db()
    assert reply.status == Message.Status.STOPPED
    assert_stored(reply)


def test_the_sweeper_stores_the_html_of_what_was_left(conversation):
    stale = in_progress(
        conversation, "Left *here*", updated_at=timezone.now() - timedelta(seconds=300)
    )
    assert sweep_generations(older_than=60) == 1
    stale.refresh_from_db()
    assert stale.status == Message.Status.INCOMPLETE
    assert_stored(stale)
    assert "<em>here</em>" in stale.content_html
