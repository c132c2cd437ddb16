from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from conversations import selectors, services
from conversations.models import Conversation, Message
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db


def test_owner_gets_their_conversation(owner):
    conversation = ConversationFactory(owner=owner)
    found = selectors.conversation_get_for_user(user=owner, public_id=conversation.public_id)
    assert found == conversation


@pytest.mark.parametrize("who", ["outsider", "anonymous", "missing"])
def test_other_users_anonymous_and_missing_are_the_same_404(owner, outsider, who):
    conversation = ConversationFactory(owner=owner)
    user = {"outsider": outsider, "anonymous": AnonymousUser(), "missing": owner}[who]
    public_id = "conv_" + "0" * 48 if who == "missing" else conversation.public_id
    with pytest.raises(Http404) as excinfo:
        selectors.conversation_get_for_user(user=user, public_id=public_id)
    assert str(excinfo.value) == "No such conversation."


@pytest.mark.parametrize("who", ["outsider", "anonymous"])
def test_messages_of_other_users_are_404(owner, outsider, who):
    conversation = ConversationFactory(owner=owner)
    message = services.message_append(conversation=conversation, role="user", content="hi")
    user = outsider if who == "outsider" else AnonymousUser()
    with pytest.raises(Http404):
        selectors.message_get_for_user(user=user, public_id=message.public_id)
    assert selectors.message_get_for_user(user=owner, public_id=message.public_id) == message


@pytest.mark.parametrize("rows", [2, 50])
def test_sidebar_is_one_query_whatever_the_number_of_rows(owner, rows, django_assert_num_queries):
    ConversationFactory.create_batch(rows, owner=owner)
    # Expect 1 query: the page of conversations (limit + 1 rows, ordered by the sidebar index).
    with django_assert_num_queries(1):
        page = selectors.conversation_list_for_sidebar(user=owner, limit=100)
        titles = [c.title for c in page.items]
    assert len(titles) == rows


def _walk(user, limit, **filters):
    cursor, seen, pages = None, [], 0
    while True:
        page = selectors.conversation_list_for_sidebar(
            user=user, cursor=cursor, limit=limit, **filters
        )
        seen.extend(c.pk for c in page.items)
        pages += 1
        if not page.has_more:
            return seen, pages
        cursor = page.next_cursor


def test_keyset_pages_cover_equal_timestamps_exactly_once(owner):
    same = timezone.now()
    ConversationFactory.create_batch(7, owner=owner, updated_at=same)
    ConversationFactory.create_batch(3, owner=owner, updated_at=same - timedelta(days=1))
    seen, pages = _walk(owner, limit=3)
    expected = list(
        Conversation.objects.filter(owner=owner)
        .order_by("-updated_at", "-id")
        .values_list("pk", flat=True)
    )
    assert seen == expected
    assert pages == 4


def test_keyset_pages_stay_correct_after_deletes(owner):
    ConversationFactory.create_batch(9, owner=owner)
    first = selectors.conversation_list_for_sidebar(user=owner, limit=3)
    # Delete the cursor row itself and a row on the next page.
    first.items[-1].delete()
    ordered = list(Conversation.objects.filter(owner=owner).order_by("-updated_at", "-id"))
    ordered[3].delete()
    rest, _ = _walk_from(owner, first.next_cursor, limit=3)
    remaining = list(
        Conversation.objects.filter(owner=owner)
        .order_by("-updated_at", "-id")
        .values_list("pk", flat=True)
    )
    assert [c.pk for c in first.items[:-1]] + rest == remaining


def _walk_from(user, cursor, limit):
    seen, pages = [], 0
    while cursor:
        page = selectors.conversation_list_for_sidebar(user=user, cursor=cursor, limit=limit)
        seen.extend(c.pk for c in page.items)
        cursor, pages = page.next_cursor, pages + 1
    return seen, pages


def test_sidebar_hides_other_users_and_archived(owner, outsider):
    mine = ConversationFactory(owner=owner)
    ConversationFactory(owner=outsider)
    archived = ConversationFactory(owner=owner, archived_at=timezone.now())
    assert selectors.conversation_list_for_sidebar(user=owner).items == [mine]
    assert selectors.conversation_list_for_sidebar(user=owner, archived=True).items == [archived]


def test_pinned_filter(owner):
    pinned = ConversationFactory(owner=owner, pinned_at=timezone.now())
    plain = ConversationFactory(owner=owner)
    assert selectors.conversation_list_for_sidebar(user=owner, pinned=True).items == [pinned]
    assert selectors.conversation_list_for_sidebar(user=owner, pinned=False).items == [plain]


@pytest.mark.parametrize("cursor", ["garbage", "bm90LWEtY3Vyc29y", "MjAyNi0wMS0wMXwx"])
def test_bad_cursor_is_a_clear_error(owner, cursor):
    with pytest.raises(selectors.InvalidCursor):
        selectors.conversation_list_for_sidebar(user=owner, cursor=cursor)


def _linear(conversation, n):
    for i in range(n):
        services.message_append(
            conversation=conversation, role="user" if i % 2 == 0 else "assistant", content=f"m{i}"
        )
    conversation.refresh_from_db()


@pytest.mark.parametrize("length", [10, 300])
def test_thread_is_one_query_and_pages_backwards(owner, length, django_assert_num_queries):
    conversation = ConversationFactory(owner=owner)
    _linear(conversation, length)
    # Expect 1 query: the recursive walk from the active leaf, bounded by the page size.
    with django_assert_num_queries(1):
        thread = selectors.message_thread(conversation=conversation, limit=50)
    assert [m.content for m in thread.messages][-1] == f"m{length - 1}"
    assert len(thread.messages) == min(length, 50)
    assert thread.has_older is (length > 50)

    collected = list(thread.messages)
    while thread.has_older:
        thread = selectors.message_thread(conversation=conversation, before=thread.oldest, limit=50)
        collected = thread.messages + collected
    assert [m.content for m in collected] == [f"m{i}" for i in range(length)]


def test_thread_follows_only_the_active_branch(owner):
    conversation = ConversationFactory(owner=owner)
    root = services.message_append(conversation=conversation, role="user", content="q")
    old = services.message_append(conversation=conversation, role="assistant", content="old")
    new = services.message_append(
        conversation=conversation, role="assistant", content="new", parent=root
    )
    conversation.refresh_from_db()
    thread = selectors.message_thread(conversation=conversation)
    assert thread.messages == [root, new]
    positions = selectors.message_sibling_positions(
        conversation=conversation, messages=thread.messages
    )
    assert positions == {root.pk: (1, 1), new.pk: (2, 2)}
    assert old.pk not in positions


def test_thread_of_a_foreign_leaf_is_empty(owner, outsider):
    mine = ConversationFactory(owner=owner)
    theirs = ConversationFactory(owner=outsider)
    foreign = Message.objects.create(conversation=theirs, role="user", content="secret")
    assert selectors.message_path(conversation=mine, leaf_id=foreign.pk, limit=10) == []
