"""Share links over /api: create, list, revoke."""

from datetime import timedelta

from django.utils import timezone

from sharing.models import ShareLink
from tests.api.conftest import finished_turn
from tests.factories import ConversationFactory


def test_create_shares_the_active_branch_up_to_now(api, owner):
    conversation = ConversationFactory(owner=owner)
    _, reply = finished_turn(conversation)
    response = api.post(f"/api/conversations/{conversation.public_id}/shares/", {})
    assert response.status_code == 201
    body = response.json()
    share = ShareLink.objects.get(token=body["token"])
    assert share.message == reply
    assert body["url"] == f"http://testserver/s/{share.token}/"
    assert body["conversation"] == conversation.public_id
    assert body["message"] == reply.public_id
    assert body["expires_at"] is None
    # The public page answers with the link.
    assert api.client.get(f"/s/{share.token}/").status_code == 200


def test_create_one_message_with_an_expiry(api, owner):
    conversation = ConversationFactory(owner=owner)
    question, _ = finished_turn(conversation)
    response = api.post(
        f"/api/conversations/{conversation.public_id}/shares/",
        {"message": question.public_id, "include_context": False, "expires_in": 3600},
    )
    assert response.status_code == 201
    share = ShareLink.objects.get(token=response.json()["token"])
    assert share.message == question
    assert share.include_context is False
    assert timedelta(minutes=59) < share.expires_at - timezone.now() <= timedelta(hours=1)


def test_create_of_an_empty_conversation_is_a_field_error(api, owner):
    conversation = ConversationFactory(owner=owner)
    response = api.post(f"/api/conversations/{conversation.public_id}/shares/", {})
    assert response.status_code == 400
    assert "conversation" in response.json()["error"]["fields"]


def test_create_with_someone_elses_message_is_a_field_error(api, owner, outsider):
    conversation = ConversationFactory(owner=owner)
    finished_turn(conversation)
    foreign, _ = finished_turn(ConversationFactory(owner=outsider))
    response = api.post(
        f"/api/conversations/{conversation.public_id}/shares/", {"message": foreign.public_id}
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"message": ["No such message."]}


def test_list_shows_my_links_newest_first_with_a_fixed_query_count(
    api, owner, outsider, django_assert_num_queries
):
    mine = []
    for _ in range(4):
        conversation = ConversationFactory(owner=owner)
        _, reply = finished_turn(conversation)
        mine.append(ShareLink.objects.create(owner=owner, conversation=conversation, message=reply))
    other = ConversationFactory(owner=outsider)
    _, reply = finished_turn(other)
    ShareLink.objects.create(owner=outsider, conversation=other, message=reply)
    # Expect 3 queries: API key with its user, links with conversations, their messages.
    with django_assert_num_queries(3):
        body = api.get("/api/shares/").json()
    assert [s["token"] for s in body["data"]] == [s.token for s in reversed(mine)]


def test_list_pages_with_after(api, owner):
    conversation = ConversationFactory(owner=owner)
    _, reply = finished_turn(conversation)
    for _ in range(3):
        ShareLink.objects.create(owner=owner, conversation=conversation, message=reply)
    first = api.get("/api/shares/", {"limit": 2}).json()
    assert first["has_more"] is True
    rest = api.get("/api/shares/", {"limit": 2, "after": first["next_after"]}).json()
    assert len(rest["data"]) == 1
    assert rest["has_more"] is False


def test_revoke_kills_the_link(api, owner):
    conversation = ConversationFactory(owner=owner)
    _, reply = finished_turn(conversation)
    share = ShareLink.objects.create(owner=owner, conversation=conversation, message=reply)
    assert api.delete(f"/api/shares/{share.token}/").status_code == 204
    share.refresh_from_db()
    assert share.revoked_at is not None
    assert api.client.get(f"/s/{share.token}/").status_code == 404
