"""POST /api/messages/<id>/branch/ copies the thread up to the message into a new chat."""

import pytest

from tests.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_api_branch_creates_a_conversation(api, outsider_api, owner):
    source = ConversationFactory(owner=owner, title="Source")
    question = MessageFactory(conversation=source, content="Q")
    answer = MessageFactory(conversation=source, parent=question, role="assistant", content="A")
    response = api.post(f"/api/messages/{answer.public_id}/branch/")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["title"] == "Source (branch)"
    assert body["id"] != source.public_id
    assert outsider_api.post(f"/api/messages/{answer.public_id}/branch/").status_code == 404
