from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from conversations.models import Conversation, Message
from organise.services import project_delete
from projects.models import Project
from projects.selectors import project_get_for_user, project_list_for_user
from projects.services import project_create, project_update
from tests.factories import ConversationFactory, MessageFactory, ProjectFactory


def test_project_get_is_404_for_missing_and_foreign_alike(owner, outsider):
    project = ProjectFactory(owner=owner)
    assert project_get_for_user(user=owner, public_id=project.public_id) == project
    with pytest.raises(Http404):
        project_get_for_user(user=outsider, public_id=project.public_id)
    with pytest.raises(Http404):
        project_get_for_user(user=owner, public_id="proj_missing")


def test_project_list_counts_conversations_in_one_query(owner, outsider, django_assert_num_queries):
    busy = ProjectFactory(owner=owner, title="Busy")
    ProjectFactory(owner=owner, title="Empty")
    ProjectFactory(owner=outsider, title="Theirs")
    ConversationFactory.create_batch(3, owner=owner, project=busy)
    ConversationFactory(owner=owner, project=busy, archived_at=timezone.now())
    with django_assert_num_queries(1):  # projects with counts
        projects = {p.title: p.conversation_count for p in project_list_for_user(user=owner)}
    assert projects == {"Busy": 3, "Empty": 0}


def test_project_create_and_update_validate_input(owner):
    project = project_create(owner=owner, title="  Garden  ", instructions="Answer in French.")
    assert (project.title, project.instructions) == ("Garden", "Answer in French.")
    with pytest.raises(ValidationError) as error:
        project_create(owner=owner, title="   ")
    assert "title" in error.value.message_dict
    project_update(project=project, title="Allotment", description="Veg", instructions="")
    project.refresh_from_db()
    assert (project.title, project.description, project.instructions) == ("Allotment", "Veg", "")


def test_project_delete_keeps_conversations_outside_any_project(owner):
    project = ProjectFactory(owner=owner)
    conversation = ConversationFactory(owner=owner, project=project)
    assert project_delete(project=project, delete_conversations=False) == 0
    conversation.refresh_from_db()
    assert conversation.project_id is None


def test_project_delete_can_delete_its_conversations_and_their_messages(owner):
    project = ProjectFactory(owner=owner)
    doomed = ConversationFactory(owner=owner, project=project)
    MessageFactory(conversation=doomed)
    kept = ConversationFactory(owner=owner)
    assert project_delete(project=project, delete_conversations=True) == 1
    assert list(Conversation.objects.all()) == [kept]
    assert not Message.objects.exists()
    assert not Project.objects.exists()


def test_project_pages_have_a_fixed_query_count(owner_client, owner, django_assert_num_queries):
    project = ProjectFactory(owner=owner)
    for days in range(0, 60, 3):
        ConversationFactory(
            owner=owner, project=project, updated_at=timezone.now() - timedelta(days=days)
        )
    ProjectFactory.create_batch(5, owner=owner)
    # Session, user, projects with counts.
    with django_assert_num_queries(3):
        response = owner_client.get(reverse("projects"))
    assert response.status_code == 200
    # Session, user, project, one page of its conversations.
    with django_assert_num_queries(4):
        response = owner_client.get(reverse("project", args=[project.public_id]))
    html = response.content.decode()
    for heading in ("Today", "Previous 7 days", "Previous 30 days"):
        assert f'<h2 class="group-heading">{heading}</h2>' in html
    # Session, user, projects with counts, their latest conversations.
    with django_assert_num_queries(4):
        response = owner_client.get(reverse("project-sidebar"))
    assert response.content.decode().count('class="row"') == 5


def test_project_page_paginates_by_keyset(owner_client, owner):
    project = ProjectFactory(owner=owner)
    ConversationFactory.create_batch(55, owner=owner, project=project)
    first = owner_client.get(reverse("project", args=[project.public_id]))
    assert first.content.decode().count('class="row"') == 50
    cursor = first.context["next_cursor"]
    second = owner_client.get(
        reverse("project", args=[project.public_id]),
        {"cursor": cursor},
        headers={"HX-Request": "true"},
    )
    assert second.content.decode().count('class="row"') == 5
    assert (
        owner_client.get(
            reverse("project", args=[project.public_id]), {"cursor": "bad"}
        ).status_code
        == 400
    )


def test_project_views_create_edit_and_delete(owner_client, owner):
    response = owner_client.post(
        reverse("project-create"), {"title": "Trip", "description": "", "instructions": "Be brief."}
    )
    project = Project.objects.get(owner=owner)
    assert response.status_code == 302
    assert response["Location"] == reverse("project", args=[project.public_id])
    assert owner_client.post(reverse("project-create"), {"title": ""}).status_code == 400
    owner_client.post(
        reverse("project-edit", args=[project.public_id]),
        {"title": "Trip 2", "description": "Lisbon", "instructions": ""},
    )
    project.refresh_from_db()
    assert (project.title, project.description) == ("Trip 2", "Lisbon")
    conversation = ConversationFactory(owner=owner, project=project)
    response = owner_client.get(reverse("project-delete", args=[project.public_id]))
    assert "Keep them, outside any project" in response.content.decode()
    owner_client.post(
        reverse("project-delete", args=[project.public_id]), {"conversations": "keep"}
    )
    assert not Project.objects.exists()
    conversation.refresh_from_db()
    assert conversation.project is None


def test_project_views_are_404_for_other_users(outsider_client, owner):
    project = ProjectFactory(owner=owner)
    for name in ("project", "project-edit", "project-delete"):
        assert outsider_client.get(reverse(name, args=[project.public_id])).status_code == 404
    response = outsider_client.post(
        reverse("project-delete", args=[project.public_id]), {"conversations": "delete"}
    )
    assert response.status_code == 404
    assert Project.objects.filter(pk=project.pk).exists()


def test_move_conversation_into_and_out_of_a_project(owner_client, owner, outsider):
    project = ProjectFactory(owner=owner)
    conversation = ConversationFactory(owner=owner)
    url = reverse("conversation-move", args=[conversation.public_id])
    assert project.title in owner_client.get(url).content.decode()
    owner_client.post(url, {"project": project.public_id})
    conversation.refresh_from_db()
    assert conversation.project == project
    response = owner_client.post(url, {"project": ""}, headers={"HX-Request": "true"})
    assert 'id="sidebar-refresh"' in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.project is None
    # Someone else's project is as missing as a project that never existed.
    theirs = ProjectFactory(owner=outsider)
    assert owner_client.post(url, {"project": theirs.public_id}).status_code == 404


def test_sidebar_projects_section_shows_only_own_projects(owner_client, owner, outsider):
    mine = ProjectFactory(owner=owner, title="Mine")
    ConversationFactory(owner=owner, project=mine, title="Inside mine")
    theirs = ProjectFactory(owner=outsider, title="Theirs")
    ConversationFactory(owner=outsider, project=theirs, title="Inside theirs")
    html = owner_client.get(reverse("project-sidebar")).content.decode()
    assert "Mine" in html and "Inside mine" in html
    assert "Theirs" not in html and "Inside theirs" not in html
    # The bulk bar's project picker is refreshed alongside.
    assert 'id="bulk-project"' in html and mine.public_id in html
