"""A long snapshot is shown a page at a time, continued by keyset, in fixed queries."""

import re

import pytest
from django.urls import reverse

from sharing.selectors import SNAPSHOT_PAGE_SIZE
from sharing.services import share_create
from tests.factories import ConversationFactory
from tests.sharing.conftest import add_turn
from tests.ui.conftest import make_thread

pytestmark = pytest.mark.django_db

ARTICLE = re.compile(r'<article id="message-(msg_\w+)"')


def long_share(owner, count: int):
    conversation = ConversationFactory(owner=owner, title="Long")
    rows = make_thread(conversation, count)
    return share_create(user=owner, conversation=conversation), rows


def shown(response) -> list[str]:
    return ARTICLE.findall(response.text)


def more_link(response) -> str | None:
    match = re.search(r'href="([^"]*\?after=[^"]*)">Show more<', response.text)
    return match[1].replace("&amp;", "&") if match else None


def test_pages_walk_the_whole_snapshot_in_order(client, owner):
    share, rows = long_share(owner, 2 * SNAPSHOT_PAGE_SIZE + 7)
    address = reverse("share-view", args=[share.token])
    seen, pages = [], 0
    while address is not None:
        response = client.get(address)
        assert response.status_code == 200
        assert len(shown(response)) <= SNAPSHOT_PAGE_SIZE
        if pages:
            assert "Back to the start" in response.text
        seen += shown(response)
        address = more_link(response)
        pages += 1
    assert pages == 3
    assert seen == [row.public_id for row in rows]


def test_a_short_snapshot_has_one_page_and_no_links(client, owner):
    share, rows = long_share(owner, SNAPSHOT_PAGE_SIZE)
    response = client.get(reverse("share-view", args=[share.token]))
    assert shown(response) == [row.public_id for row in rows]
    assert "Show more" not in response.text and "Back to the start" not in response.text


@pytest.mark.parametrize("count", [SNAPSHOT_PAGE_SIZE + 20, 12 * SNAPSHOT_PAGE_SIZE])
def test_page_queries_are_fixed_whatever_the_length(
    client, owner, count, django_assert_num_queries
):
    share, rows = long_share(owner, count)
    first = reverse("share-view", args=[share.token])
    # 3 queries: the live link with its conversation and cut-off, the page of the path (one
    # recursive query reading only the page's rows), the view count increment.
    with django_assert_num_queries(3):
        response = client.get(first)
    assert len(shown(response)) == SNAPSHOT_PAGE_SIZE
    # A later page is the same visit: the link, the page; no view counted.
    with django_assert_num_queries(2):
        response = client.get(f"{first}?after={rows[-SNAPSHOT_PAGE_SIZE - 1].public_id}")
    assert shown(response) == [row.public_id for row in rows[-SNAPSHOT_PAGE_SIZE:]]


def test_a_visit_counts_once_however_many_pages_it_reads(client, owner):
    share, rows = long_share(owner, SNAPSHOT_PAGE_SIZE + 5)
    address = reverse("share-view", args=[share.token])
    client.get(address)
    client.get(more_link(client.get(address)))
    share.refresh_from_db()
    assert share.view_count == 2


def test_an_after_outside_the_snapshot_is_the_dead_link_page(client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    address = reverse("share-view", args=[share.token])
    for after in [chat.other_q.public_id, "msg_nonsense", "not-an-id", chat.a2.public_id]:
        response = client.get(address, {"after": after})
        assert response.status_code == 404, after
        assert "This link doesn't work" in response.text
    single = share_create(
        user=owner, conversation=chat.conversation, message=chat.a1, include_context=False
    )
    response = client.get(reverse("share-view", args=[single.token]), {"after": chat.q1.public_id})
    assert response.status_code == 404


def test_pages_never_show_later_messages(client, owner):
    conversation = ConversationFactory(owner=owner)
    rows = make_thread(conversation, SNAPSHOT_PAGE_SIZE + 30)
    share = share_create(user=owner, conversation=conversation)
    add_turn(conversation, rows[-1], "Later question", "Later answer")
    address = reverse("share-view", args=[share.token])
    last = client.get(more_link(client.get(address)))
    assert shown(last) == [row.public_id for row in rows[SNAPSHOT_PAGE_SIZE:]]
    assert "Later answer" not in last.text and more_link(last) is None
