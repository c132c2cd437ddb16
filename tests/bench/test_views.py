import pytest

from tests.factories import ConversationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("bench.urls")]


def test_bare_view_answers_without_queries(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/bench/bare.json")

    assert response.json() == {"ok": True}


def test_sidebar_json_pages_newest_first_in_constant_queries(
    owner_client, owner, outsider, django_assert_num_queries
):
    mine = [ConversationFactory(owner=owner) for _ in range(60)]
    ConversationFactory(owner=outsider)
    expected = [c.public_id for c in sorted(mine, key=lambda c: (c.updated_at, c.pk), reverse=True)]

    # Expect 3 queries: session, user, one page of conversations.
    with django_assert_num_queries(3):
        first = owner_client.get("/bench/sidebar.json").json()
    with django_assert_num_queries(3):
        second = owner_client.get(f"/bench/sidebar.json?cursor={first['next_cursor']}").json()

    assert [c["id"] for c in first["data"]] == expected[:50]
    assert [c["id"] for c in second["data"]] == expected[50:]
    assert second["next_cursor"] is None


def test_sidebar_json_refuses_anonymous(client):
    assert client.get("/bench/sidebar.json").status_code == 401


def test_sidebar_json_refuses_a_cursor_it_did_not_hand_out(owner_client):
    response = owner_client.get("/bench/sidebar.json?cursor=nonsense")

    assert response.status_code == 400
    assert response.json() == {"error": "Invalid cursor."}
