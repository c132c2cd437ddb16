"""Projects over /api: list, create, retrieve, update, delete, a project's conversations."""

from projects.models import Project
from tests.factories import ConversationFactory, ProjectFactory


def test_list_shows_my_projects_with_their_conversation_counts(api, owner, outsider):
    travel = ProjectFactory(owner=owner, title="Travel")
    ConversationFactory.create_batch(2, owner=owner, project=travel)
    ProjectFactory(owner=outsider, title="Theirs")
    body = api.get("/api/projects/").json()
    assert [(p["id"], p["title"], p["conversation_count"]) for p in body["data"]] == [
        (travel.public_id, "Travel", 2)
    ]


def test_list_query_count_is_fixed(api, owner, django_assert_num_queries):
    for _ in range(6):
        ConversationFactory(owner=owner, project=ProjectFactory(owner=owner))
    # Expect 2 queries: API key with its user, projects with their counts.
    with django_assert_num_queries(2):
        assert len(api.get("/api/projects/").json()["data"]) == 6


def test_create_and_retrieve(api, owner):
    response = api.post(
        "/api/projects/", {"title": "Cooking", "instructions": "Metric units, please."}
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id", "title", "description", "instructions", "created_at", "updated_at",
    }  # fmt: skip
    project = Project.objects.get(public_id=body["id"])
    assert project.owner == owner
    assert api.get(f"/api/projects/{project.public_id}/").json()["instructions"] == (
        "Metric units, please."
    )


def test_create_needs_a_title(api):
    response = api.post("/api/projects/", {"title": "  "})
    assert response.status_code == 400
    assert "title" in response.json()["error"]["fields"]


def test_update_changes_only_the_given_fields(api, owner):
    project = ProjectFactory(
        owner=owner, title="Old", description="Keep me", instructions="Be kind"
    )
    response = api.patch(f"/api/projects/{project.public_id}/", {"title": "New"})
    assert response.status_code == 200
    project.refresh_from_db()
    assert (project.title, project.description, project.instructions) == (
        "New",
        "Keep me",
        "Be kind",
    )


def test_delete_keeps_its_conversations_outside_any_project(api, owner):
    project = ProjectFactory(owner=owner)
    conversation = ConversationFactory(owner=owner, project=project)
    assert api.delete(f"/api/projects/{project.public_id}/").status_code == 204
    conversation.refresh_from_db()
    assert conversation.project is None
    assert not Project.objects.exists()


def test_delete_with_its_conversations(api, owner):
    project = ProjectFactory(owner=owner)
    conversation = ConversationFactory(owner=owner, project=project)
    response = api.delete(f"/api/projects/{project.public_id}/?delete_conversations=true")
    assert response.status_code == 204
    assert not type(conversation).objects.filter(pk=conversation.pk).exists()


def test_a_projects_conversations_page(api, owner):
    project = ProjectFactory(owner=owner)
    inside = ConversationFactory.create_batch(3, owner=owner, project=project)
    ConversationFactory(owner=owner)
    first = api.get(f"/api/projects/{project.public_id}/conversations/", {"limit": 2}).json()
    assert len(first["data"]) == 2
    rest = api.get(
        f"/api/projects/{project.public_id}/conversations/",
        {"limit": 2, "after": first["next_after"]},
    ).json()
    seen = {c["id"] for c in first["data"] + rest["data"]}
    assert seen == {c.public_id for c in inside}
    assert rest["next_after"] is None
    assert {c["project"] for c in first["data"]} == {project.public_id}
