"""Branch in a new chat: the visible path up to a message, same project, opened at once."""

import pytest

from conversations.models import Conversation
from conversations.services import conversation_branch
from tests.factories import ConversationFactory, ProjectFactory
from tests.ui.conftest import HTMX, make_thread

pytestmark = pytest.mark.django_db


def test_branch_copies_the_path_up_to_the_message_in_the_same_project(owner):
    project = ProjectFactory(owner=owner)
    source = ConversationFactory(owner=owner, title="Trip planning", project=project)
    rows = make_thread(source, 6)
    branch = conversation_branch(message=rows[3], user=owner)
    assert branch.title == "Trip planning (branch)"
    assert branch.project_id == project.pk
    copied = list(branch.messages.order_by("created_at", "id").values_list("content", flat=True))
    assert copied == [r.content for r in rows[:4]]
    assert branch.message_count == 4
    assert branch.current_message.content == rows[3].content
    assert source.messages.count() == 6


def test_branch_button_opens_the_new_chat(owner_client, conversation, reply):
    html = owner_client.get(f"/c/{conversation.public_id}/").content.decode()
    assert "Branch in new chat" in html
    response = owner_client.post(f"/m/{reply.public_id}/branch/", headers=HTMX)
    branch = Conversation.objects.exclude(pk=conversation.pk).get()
    assert response["HX-Redirect"] == f"/c/{branch.public_id}/"
    plain = owner_client.post(f"/m/{reply.parent.public_id}/branch/")
    assert plain.status_code == 302


def test_branch_of_someone_elses_message_is_404(outsider_client, reply):
    assert outsider_client.post(f"/m/{reply.public_id}/branch/").status_code == 404
