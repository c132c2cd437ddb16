import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from conversations.models import Conversation, Message
from organise.bulk import (
    MAX_BULK,
    conversations_bulk_archive,
    conversations_bulk_delete,
    conversations_bulk_move,
)
from tests.factories import ConversationFactory, MessageFactory, ProjectFactory


def test_bulk_delete_removes_only_own_conversations_and_reports_the_rest(
    owner, outsider, django_assert_num_queries
):
    mine = ConversationFactory.create_batch(3, owner=owner)
    for conversation in mine:
        MessageFactory(conversation=conversation)
    theirs = ConversationFactory(owner=outsider)
    ids = [c.public_id for c in mine] + [theirs.public_id, "conv_missing"]
    # Savepoint, owned ids, delete, release; on SQLite also the parent links cleared first
    # (its cascades stop 1,000 levels deep).
    unthread = 1 if connection.vendor == "sqlite" else 0
    with django_assert_num_queries(4 + unthread):
        result = conversations_bulk_delete(user=owner, public_ids=ids)
    assert result.count == 3
    assert result.failed == [theirs.public_id, "conv_missing"]
    assert list(Conversation.objects.all()) == [theirs]
    assert not Message.objects.filter(conversation__owner=owner).exists()


def test_bulk_archive_and_unarchive(owner):
    conversations = ConversationFactory.create_batch(2, owner=owner)
    ids = [c.public_id for c in conversations]
    assert conversations_bulk_archive(user=owner, public_ids=ids).count == 2
    assert Conversation.objects.filter(archived_at__isnull=False).count() == 2
    conversations_bulk_archive(user=owner, public_ids=ids, archived=False)
    assert Conversation.objects.filter(archived_at__isnull=True).count() == 2


def test_bulk_move_into_own_project_only(owner, outsider):
    conversations = ConversationFactory.create_batch(2, owner=owner)
    ids = [c.public_id for c in conversations]
    project = ProjectFactory(owner=owner)
    assert conversations_bulk_move(user=owner, public_ids=ids, project=project).count == 2
    assert set(Conversation.objects.values_list("project", flat=True)) == {project.pk}
    with pytest.raises(ValidationError):
        conversations_bulk_move(user=owner, public_ids=ids, project=ProjectFactory(owner=outsider))
    conversations_bulk_move(user=owner, public_ids=ids, project=None)
    assert set(Conversation.objects.values_list("project", flat=True)) == {None}


def test_bulk_actions_refuse_empty_and_oversized_selections(owner):
    with pytest.raises(ValidationError):
        conversations_bulk_archive(user=owner, public_ids=[])
    with pytest.raises(ValidationError):
        conversations_bulk_delete(user=owner, public_ids=[f"conv_{i}" for i in range(MAX_BULK + 1)])


def test_bulk_view_acts_in_one_request(owner_client, owner, outsider):
    project = ProjectFactory(owner=owner)
    mine = ConversationFactory.create_batch(2, owner=owner)
    theirs = ConversationFactory(owner=outsider)
    ids = [c.public_id for c in mine] + [theirs.public_id]
    response = owner_client.post(
        reverse("conversations-bulk"),
        {"action": "move", "ids": ids, "project": project.public_id},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert "Moved to" in html and "2 conversations" in html and "1 could not be found" in html
    assert 'id="sidebar-refresh"' in html
    assert Conversation.objects.filter(project=project).count() == 2
    theirs.refresh_from_db()
    assert theirs.project is None
    response = owner_client.post(reverse("conversations-bulk"), {"action": "delete", "ids": ids})
    assert response.status_code == 302
    assert list(Conversation.objects.all()) == [theirs]


def test_bulk_view_explains_bad_requests(owner_client):
    response = owner_client.post(
        reverse("conversations-bulk"),
        {"action": "explode", "ids": ["x"]},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert "Choose archive" in response.content.decode()
