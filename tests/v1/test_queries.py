"""The /v1 lists run a fixed number of queries however many rows there are."""

import pytest

from tests.factories import ConversationFactory
from tests.v1.conftest import append_turns


def page_ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["data"]]


@pytest.mark.parametrize("messages", [3, 30])
def test_item_list_desc_pages_are_three_then_four_queries(
    client, bearer, owner, django_assert_num_queries, messages
):
    conversation = ConversationFactory(owner=owner)
    append_turns(conversation, messages)
    url = f"/v1/conversations/{conversation.public_id}/items?limit=2"
    # Expect 3 queries: API key + user, conversation, the page walked up from the leaf.
    with django_assert_num_queries(3):
        first = page_ids(client.get(url, **bearer))
    # Expect 4 queries: API key + user, conversation, the `after` item, the page walked up
    # from it.
    with django_assert_num_queries(4):
        second = page_ids(client.get(f"{url}&after={first[-1]}", **bearer))
    assert len(first) == 2 and len(second) == min(messages - 2, 2)


@pytest.mark.parametrize("messages", [3, 30])
def test_item_list_asc_pages_are_four_then_five_queries(
    client, bearer, owner, django_assert_num_queries, messages
):
    conversation = ConversationFactory(owner=owner)
    append_turns(conversation, messages)
    url = f"/v1/conversations/{conversation.public_id}/items?limit=2&order=asc"
    # Expect 4 queries: API key + user, conversation, active-branch ids, the page's rows.
    with django_assert_num_queries(4):
        first = page_ids(client.get(url, **bearer))
    # Expect 5 queries: API key + user, conversation, the `after` item, active-branch ids,
    # the page's rows.
    with django_assert_num_queries(5):
        second = page_ids(client.get(f"{url}&after={first[-1]}", **bearer))
    assert len(first) == 2 and len(second) == min(messages - 2, 2)


@pytest.mark.parametrize("conversations", [3, 30])
def test_conversation_list_is_two_queries_then_three(
    client, bearer, owner, outsider, django_assert_num_queries, conversations
):
    ConversationFactory.create_batch(conversations, owner=owner)
    ConversationFactory.create_batch(2, owner=outsider)
    # Expect 2 queries: API key + user, the page of conversations.
    with django_assert_num_queries(2):
        first = page_ids(client.get("/v1/conversations?limit=2", **bearer))
    # Expect 3 queries: API key + user, the `after` conversation's position, the page.
    with django_assert_num_queries(3):
        second = page_ids(client.get(f"/v1/conversations?limit=2&after={first[-1]}", **bearer))
    assert len(first) == 2
    assert len(second) == min(conversations - 2, 2)
    assert not set(first) & set(second)


def test_conversation_list_pages_cover_only_the_owners_conversations_once(
    client, bearer, owner, outsider
):
    mine = {c.public_id for c in ConversationFactory.create_batch(7, owner=owner)}
    ConversationFactory.create_batch(3, owner=outsider)
    for order in ("asc", "desc"):
        seen, after = [], ""
        while True:
            page = client.get(f"/v1/conversations?limit=3&order={order}{after}", **bearer).json()
            seen += [c["id"] for c in page["data"]]
            if not page["has_more"]:
                break
            after = f"&after={page['last_id']}"
        assert len(seen) == len(set(seen)) and set(seen) == mine


def test_item_retrieve_is_two_queries(client, bearer, owner, django_assert_num_queries):
    conversation = ConversationFactory(owner=owner)
    (message,) = append_turns(conversation, 1)
    # Expect 2 queries: API key + user, the message with its conversation.
    with django_assert_num_queries(2):
        response = client.get(
            f"/v1/conversations/{conversation.public_id}/items/{message.public_id}", **bearer
        )
    assert response.json()["id"] == message.public_id
