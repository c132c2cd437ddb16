"""Conversations over /api: list, filters, keyset pages, create, retrieve, update, delete, bulk."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import Conversation
from tests.api.conftest import finished_turn
from tests.factories import ConversationFactory, ProjectFactory


def make_conversations(owner, count, **fields):
    """Create conversations with distinct activity times, newest last."""
    base = timezone.now() - timedelta(days=1)
    return [
        ConversationFactory(owner=owner, updated_at=base + timedelta(minutes=i), **fields)
        for i in range(count)
    ]


def test_list_is_newest_activity_first_and_only_mine(api, owner, outsider):
    mine = make_conversations(owner, 3)
    make_conversations(outsider, 2)
    response = api.get("/api/conversations/")
    assert response.status_code == 200
    body = response.json()
    assert [c["id"] for c in body["data"]] == [c.public_id for c in reversed(mine)]
    assert body["has_more"] is False
    assert body["next_after"] is None


def test_list_pages_with_after_cover_every_conversation_once(api, owner):
    mine = make_conversations(owner, 25)
    seen, after = [], None
    while True:
        response = api.get(
            "/api/conversations/", {"limit": 10} | ({"after": after} if after else {})
        )
        body = response.json()
        seen += [c["id"] for c in body["data"]]
        after = body["next_after"]
        assert body["has_more"] is (after is not None)
        if after is None:
            break
    assert seen == [c.public_id for c in reversed(mine)]


def test_list_defaults_to_20_and_caps_limit_at_100(api, owner):
    make_conversations(owner, 21)
    assert len(api.get("/api/conversations/").json()["data"]) == 20
    response = api.get("/api/conversations/", {"limit": 101})
    assert response.status_code == 400
    assert "limit" in response.json()["error"]["fields"]


def test_list_rejects_a_forged_cursor(api, owner):
    response = api.get("/api/conversations/", {"after": "not-a-cursor"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"after": ["Invalid cursor."]}


def test_list_filters_pinned_archived_and_project(api, owner):
    project = ProjectFactory(owner=owner)
    plain = ConversationFactory(owner=owner)
    pinned = ConversationFactory(owner=owner, pinned_at=timezone.now())
    archived = ConversationFactory(owner=owner, archived_at=timezone.now())
    in_project = ConversationFactory(owner=owner, project=project)

    def ids(**params):
        return {c["id"] for c in api.get("/api/conversations/", params).json()["data"]}

    assert ids() == {plain.public_id, pinned.public_id, in_project.public_id}
    assert ids(pinned="true") == {pinned.public_id}
    assert ids(pinned="false") == {plain.public_id, in_project.public_id}
    assert ids(archived="true") == {archived.public_id}
    assert ids(project=project.public_id) == {in_project.public_id}


def test_list_filter_on_someone_elses_project_is_a_field_error(api, outsider):
    project = ProjectFactory(owner=outsider)
    response = api.get("/api/conversations/", {"project": project.public_id})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"project": ["No such project."]}


def test_search_finds_titles_and_messages_of_mine_only(api, owner, outsider):
    by_title = ConversationFactory(owner=owner, title="Sourdough starter")
    by_message = ConversationFactory(owner=owner, title="Kitchen")
    finished_turn(by_message, "How long to proof sourdough?")
    ConversationFactory(owner=owner, title="Taxes")
    ConversationFactory(owner=outsider, title="Sourdough secrets")
    body = api.get("/api/conversations/", {"q": "sourdough"}).json()
    assert {c["id"] for c in body["data"]} == {by_title.public_id, by_message.public_id}
    assert body["next_after"] is None


def test_list_query_count_is_fixed_whatever_the_rows(api, owner, django_assert_num_queries):
    for count in (3, 30):
        Conversation.objects.filter(owner=owner).delete()
        project = ProjectFactory(owner=owner)
        make_conversations(owner, count, project=project)
        # Expect 3 queries: API key with its user, conversations, their projects.
        with django_assert_num_queries(3):
            response = api.get("/api/conversations/", {"limit": 100})
        assert len(response.json()["data"]) == count
        assert response.json()["data"][0]["project"] == project.public_id


def test_session_list_query_count_is_fixed(session_api, owner, django_assert_num_queries):
    make_conversations(owner, 12, project=ProjectFactory(owner=owner))
    # Expect 4 queries: session, user, conversations, their projects.
    with django_assert_num_queries(4):
        assert session_api.get("/api/conversations/").status_code == 200


def test_create_with_title_project_and_metadata(api, owner):
    project = ProjectFactory(owner=owner)
    response = api.post(
        "/api/conversations/",
        {"title": "Plans", "project": project.public_id, "metadata": {"source": "cli"}},
    )
    assert response.status_code == 201
    body = response.json()
    conversation = Conversation.objects.get(public_id=body["id"])
    assert conversation.owner == owner
    assert conversation.project == project
    assert body["metadata"] == {"source": "cli"}
    assert set(body) == {
        "id", "title", "project", "status", "status_reason", "pinned", "archived",
        "metadata", "message_count", "preview", "created_at", "updated_at",
    }  # fmt: skip


def test_create_without_anything_makes_an_untitled_conversation(api, owner):
    response = api.post("/api/conversations/", {})
    assert response.status_code == 201
    assert response.json()["title"] == ""
    assert response.json()["project"] is None


def test_create_into_someone_elses_project_is_refused(api, outsider):
    project = ProjectFactory(owner=outsider)
    response = api.post("/api/conversations/", {"project": project.public_id})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"project": ["No such project."]}
    assert not Conversation.objects.exists()


def test_retrieve_shows_the_active_branch_oldest_first(api, owner):
    conversation = ConversationFactory(owner=owner)
    q1, r1 = finished_turn(conversation, "one")
    q2, r2 = finished_turn(conversation, "two")
    body = api.get(f"/api/conversations/{conversation.public_id}/").json()
    assert [m["id"] for m in body["messages"]] == [m.public_id for m in (q1, r1, q2, r2)]
    assert body["messages"][0] == {
        "id": q1.public_id, "role": "user", "content": "one", "status": "completed",
        "status_reason": "", "model": "", "input_tokens": 0, "output_tokens": 0,
        "created_at": body["messages"][0]["created_at"],
        "updated_at": body["messages"][0]["updated_at"], "feedback": None,
    }  # fmt: skip
    assert body["has_older"] is False
    assert body["older_before"] is None


def test_retrieve_pages_older_messages_with_before(api, owner):
    conversation = ConversationFactory(owner=owner)
    messages = [m for i in range(5) for m in finished_turn(conversation, f"turn {i}")]
    url = f"/api/conversations/{conversation.public_id}/"
    first = api.get(url, {"limit": 4}).json()
    assert [m["id"] for m in first["messages"]] == [m.public_id for m in messages[-4:]]
    assert first["has_older"] is True
    second = api.get(url, {"limit": 4, "before": first["older_before"]}).json()
    assert [m["id"] for m in second["messages"]] == [m.public_id for m in messages[2:6]]
    third = api.get(url, {"limit": 4, "before": second["older_before"]}).json()
    assert [m["id"] for m in third["messages"]] == [m.public_id for m in messages[:2]]
    assert third["has_older"] is False


def test_retrieve_with_a_message_of_another_conversation_as_before_is_404(api, owner):
    conversation = ConversationFactory(owner=owner)
    other_question, _ = finished_turn(ConversationFactory(owner=owner))
    url = f"/api/conversations/{conversation.public_id}/"
    assert api.get(url, {"before": other_question.public_id}).status_code == 404


def test_retrieve_query_count_is_fixed(api, owner, django_assert_num_queries):
    conversation = ConversationFactory(owner=owner)
    for i in range(10):
        finished_turn(conversation, f"turn {i}")
    # Expect 3 queries: API key with its user, conversation with project, message path.
    with django_assert_num_queries(3):
        response = api.get(f"/api/conversations/{conversation.public_id}/")
    assert len(response.json()["messages"]) == 20


def test_update_changes_every_field_at_once(api, owner):
    conversation = ConversationFactory(owner=owner, title="Old")
    project = ProjectFactory(owner=owner)
    response = api.patch(
        f"/api/conversations/{conversation.public_id}/",
        {
            "title": "New",
            "project": project.public_id,
            "pinned": True,
            "archived": True,
            "metadata": {"a": "b"},
        },
    )
    assert response.status_code == 200
    conversation.refresh_from_db()
    assert conversation.title == "New"
    assert conversation.project == project
    assert conversation.pinned_at is not None
    assert conversation.archived_at is not None
    assert conversation.metadata == {"a": "b"}
    assert response.json()["pinned"] is True
    assert response.json()["archived"] is True


def test_update_can_unpin_unarchive_and_leave_the_project(api, owner):
    project = ProjectFactory(owner=owner)
    conversation = ConversationFactory(
        owner=owner, project=project, pinned_at=timezone.now(), archived_at=timezone.now()
    )
    response = api.patch(
        f"/api/conversations/{conversation.public_id}/",
        {"project": None, "pinned": False, "archived": False},
    )
    assert response.status_code == 200
    conversation.refresh_from_db()
    assert (conversation.project, conversation.pinned_at, conversation.archived_at) == (
        None,
        None,
        None,
    )


def test_update_with_one_bad_field_changes_nothing(api, owner):
    conversation = ConversationFactory(owner=owner, title="Keep")
    response = api.patch(
        f"/api/conversations/{conversation.public_id}/",
        {"title": "Changed", "project": "proj_nope"},
    )
    assert response.status_code == 400
    conversation.refresh_from_db()
    assert conversation.title == "Keep"


def test_delete_removes_the_conversation_and_its_messages(api, owner):
    conversation = ConversationFactory(owner=owner)
    finished_turn(conversation)
    response = api.delete(f"/api/conversations/{conversation.public_id}/")
    assert response.status_code == 204
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert api.get(f"/api/conversations/{conversation.public_id}/").status_code == 404


def test_bulk_delete_reports_deleted_and_failed(api, owner, outsider):
    mine = make_conversations(owner, 3)
    foreign = ConversationFactory(owner=outsider)
    ids = [c.public_id for c in mine] + [foreign.public_id, "conv_missing"]
    response = api.post("/api/conversations/bulk-delete/", {"ids": ids})
    assert response.status_code == 200
    assert response.json() == {
        "deleted_count": 3,
        "failed_count": 2,
        "failed_ids": [foreign.public_id, "conv_missing"],
    }
    assert not Conversation.objects.filter(owner=owner).exists()
    assert Conversation.objects.filter(pk=foreign.pk).exists()


def test_bulk_delete_of_more_than_100_ids_is_a_400_and_deletes_nothing(api, owner):
    mine = make_conversations(owner, 2)
    ids = [c.public_id for c in mine] + [f"conv_{i}" for i in range(99)]
    response = api.post("/api/conversations/bulk-delete/", {"ids": ids})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["ids"] == [
        "Ensure this field has no more than 100 elements."
    ]
    assert Conversation.objects.filter(owner=owner).count() == 2


@pytest.mark.parametrize("body", [{}, {"ids": []}, {"ids": "conv_1"}])
def test_bulk_delete_needs_a_list_of_ids(api, body):
    response = api.post("/api/conversations/bulk-delete/", body)
    assert response.status_code == 400
    assert "ids" in response.json()["error"]["fields"]
