"""Feedback on replies in the JSON export, and back through an import."""

import io
import json

import pytest

from conversations.models import Conversation, Message
from conversations.services import message_feedback_set
from organise.transfer.export import conversation_export_json, user_export_zip
from organise.transfer.importer import import_file
from tests.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db


def _rated_conversation(owner) -> tuple[Conversation, Message, Message]:
    conversation = ConversationFactory(owner=owner, title="Rated")
    question = MessageFactory(conversation=conversation, content="Which bus?")
    good = MessageFactory(
        conversation=conversation, parent=question, role="assistant", content="28"
    )
    bad = MessageFactory(conversation=conversation, parent=question, role="assistant", content="99")
    conversation.current_message = bad
    conversation.save(update_fields=["current_message"])
    message_feedback_set(user=owner, message=good, rating="up")
    message_feedback_set(user=owner, message=bad, rating="down", comment="No such line.")
    return conversation, good, bad


def test_json_export_keeps_feedback_per_message(owner):
    conversation, good, bad = _rated_conversation(owner)
    document = conversation_export_json(conversation=conversation)
    by_id = {m["id"]: m["feedback"] for m in document["messages"]}
    bad.refresh_from_db()
    assert by_id[conversation.messages.get(role="user").public_id] is None
    assert by_id[good.public_id]["rating"] == "up"
    assert by_id[bad.public_id] == {
        "rating": "down",
        "comment": "No such line.",
        "updated_at": bad.feedback_at.isoformat(),
    }


def test_feedback_round_trips_through_the_zip_into_another_account(owner, outsider):
    conversation, _good, _bad = _rated_conversation(owner)
    archive = io.BytesIO(b"".join(user_export_zip(user=owner)))
    report = import_file(user=outsider, file=archive)
    assert (report.imported, report.failed) == (1, [])
    copy = Conversation.objects.get(owner=outsider)

    def feedback(conv):
        rows = conversation_export_json(conversation=conv)["messages"]
        return [(m["content"], m["feedback"]) for m in rows]

    assert feedback(copy) == feedback(conversation)
    assert copy.messages.exclude(feedback_rating="").count() == 2


def test_odd_feedback_in_a_file_is_dropped_not_fatal(owner, outsider):
    conversation, good, bad = _rated_conversation(owner)
    document = conversation_export_json(conversation=conversation)
    question, first, second = document["messages"]
    question["feedback"] = {"rating": "up"}  # not a reply
    first["feedback"] = {"rating": "great", "comment": "?"}
    second["feedback"] = {"rating": "down", "comment": "bad\u0000", "updated_at": None}
    report = import_file(user=outsider, file=io.BytesIO(json.dumps(document).encode()))
    assert (report.imported, report.failed) == (1, [])
    rated = Message.objects.filter(conversation__owner=outsider).exclude(feedback_rating="")
    [(rating, comment, at, updated)] = rated.values_list(
        "feedback_rating", "feedback_comment", "feedback_at", "updated_at"
    )
    assert (rating, comment, at) == ("down", "", updated)
