import secrets
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.http import Http404
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.services import conversation_delete, message_delete
from sharing.models import ShareLink
from sharing.selectors import share_get_live, share_snapshot_messages
from sharing.services import (
    share_continue,
    share_create,
    share_record_view,
    share_revoke,
    share_revoke_all,
)
from tests.factories import ConversationFactory, MessageFactory
from tests.sharing.conftest import add_turn

pytestmark = pytest.mark.django_db


def test_token_carries_at_least_128_random_bits(owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    other = share_create(user=owner, conversation=chat.conversation)
    # token_urlsafe(32): 32 random bytes = 256 bits, 43 URL-safe characters.
    assert len(share.token) >= 43
    assert share.token != other.token


def test_conversation_share_snapshots_the_current_leaf(owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    assert share.message == chat.a2
    assert share.include_context


def test_snapshot_is_the_active_path_without_other_branches(owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    snapshot = share_snapshot_messages(share=share_get_live(token=share.token))
    assert [m.pk for m in snapshot] == [chat.q1.pk, chat.a1.pk, chat.q2.pk, chat.a2.pk]


def test_snapshot_never_shows_later_messages(owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    later_q, later_a = add_turn(chat.conversation, chat.a2, "Later question", "Later answer")
    snapshot = share_snapshot_messages(share=share_get_live(token=share.token))
    assert later_q not in snapshot and later_a not in snapshot
    assert snapshot[-1] == chat.a2


def test_message_share_with_context_is_the_path_to_that_message(owner, chat):
    share = share_create(user=owner, conversation=chat.conversation, message=chat.other_a)
    snapshot = share_snapshot_messages(share=share)
    assert [m.pk for m in snapshot] == [chat.q1.pk, chat.a1.pk, chat.other_q.pk, chat.other_a.pk]


def test_message_share_without_context_is_that_message_alone(owner, chat):
    share = share_create(
        user=owner, conversation=chat.conversation, message=chat.a1, include_context=False
    )
    assert share_snapshot_messages(share=share) == [chat.a1]


def test_snapshot_leaves_out_system_messages(owner):
    conversation = ConversationFactory(owner=owner)
    system = MessageFactory(conversation=conversation, role="system", content="Be terse.")
    asked, replied = add_turn(conversation, system, "Hi", "Hello")
    share = share_create(user=owner, conversation=conversation)
    assert share_snapshot_messages(share=share) == [asked, replied]


def test_empty_conversation_cannot_be_shared(owner):
    conversation = ConversationFactory(owner=owner)
    with pytest.raises(ValidationError, match="no messages yet"):
        share_create(user=owner, conversation=conversation)
    assert not ShareLink.objects.exists()


def test_reply_in_progress_cannot_be_shared(owner, chat):
    chat.a2.status = Message.Status.IN_PROGRESS
    chat.a2.save(update_fields=["status"])
    with pytest.raises(ValidationError, match="still being written"):
        share_create(user=owner, conversation=chat.conversation)
    with pytest.raises(ValidationError, match="still being written"):
        share_create(user=owner, conversation=chat.conversation, message=chat.a2)
    assert not ShareLink.objects.exists()


def test_message_of_another_conversation_is_refused(owner, chat):
    elsewhere = ConversationFactory(owner=owner)
    _, foreign = add_turn(elsewhere, None, "q", "a")
    with pytest.raises(ValidationError, match="No such message"):
        share_create(user=owner, conversation=chat.conversation, message=foreign)


def test_someone_elses_conversation_is_refused(outsider, chat):
    with pytest.raises(ValidationError, match="No such conversation"):
        share_create(user=outsider, conversation=chat.conversation)


def test_expiry_must_be_in_the_future(owner, chat):
    with pytest.raises(ValidationError):
        share_create(user=owner, conversation=chat.conversation, expires_in=timedelta(0))
    with pytest.raises(ValidationError):
        share_create(
            user=owner,
            conversation=chat.conversation,
            expires_at=timezone.now() - timedelta(minutes=1),
        )
    with pytest.raises(ValidationError, match="not both"):
        share_create(
            user=owner,
            conversation=chat.conversation,
            expires_in=timedelta(hours=1),
            expires_at=timezone.now() + timedelta(days=1),
        )
    assert not ShareLink.objects.exists()


def test_expires_in_sets_an_absolute_expiry(owner, chat):
    before = timezone.now()
    share = share_create(user=owner, conversation=chat.conversation, expires_in=timedelta(days=7))
    assert before + timedelta(days=7) <= share.expires_at <= timezone.now() + timedelta(days=7)


def test_live_link_is_found(owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    assert share_get_live(token=share.token) == share


def test_link_expired_one_second_ago_is_dead_without_cleanup(owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    ShareLink.objects.filter(pk=share.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(Http404):
        share_get_live(token=share.token)
    assert ShareLink.objects.filter(pk=share.pk).exists()


def test_revoked_link_is_dead_from_the_next_lookup(owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    share_revoke(share=share)
    with pytest.raises(Http404):
        share_get_live(token=share.token)


def test_revoking_twice_keeps_the_first_time(owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    first = share_revoke(share=share).revoked_at
    again = share_revoke(share=ShareLink.objects.get(pk=share.pk)).revoked_at
    assert again == first


def test_random_tokens_never_hit(owner, chat):
    share_create(user=owner, conversation=chat.conversation)
    for _ in range(200):
        with pytest.raises(Http404):
            share_get_live(token=secrets.token_urlsafe(32))
    for odd in ["", "x" * 65, "' OR 1=1 --"]:
        with pytest.raises(Http404):
            share_get_live(token=odd)


def test_revoke_all_for_user_spares_other_users(owner, outsider, chat):
    mine = [share_create(user=owner, conversation=chat.conversation) for _ in range(3)]
    theirs_conv = ConversationFactory(owner=outsider)
    add_turn(theirs_conv, None, "q", "a")
    theirs = share_create(user=outsider, conversation=theirs_conv)
    assert share_revoke_all(user=owner) == 3
    for share in mine:
        with pytest.raises(Http404):
            share_get_live(token=share.token)
    assert share_get_live(token=theirs.token) == theirs


def test_revoke_all_for_conversation_spares_other_conversations(owner, chat):
    here = share_create(user=owner, conversation=chat.conversation)
    elsewhere = ConversationFactory(owner=owner)
    add_turn(elsewhere, None, "q", "a")
    there = share_create(user=owner, conversation=elsewhere)
    assert share_revoke_all(conversation=chat.conversation) == 1
    with pytest.raises(Http404):
        share_get_live(token=here.token)
    assert share_get_live(token=there.token) == there


def test_revoke_all_needs_a_scope():
    with pytest.raises(ValueError):
        share_revoke_all()


def test_deleting_the_conversation_deletes_its_links(owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    conversation_delete(conversation=chat.conversation)
    assert not ShareLink.objects.filter(pk=share.pk).exists()
    with pytest.raises(Http404):
        share_get_live(token=share.token)


def test_deleting_the_shared_message_deletes_the_link(owner, chat):
    share = share_create(user=owner, conversation=chat.conversation, message=chat.other_a)
    kept = share_create(user=owner, conversation=chat.conversation)
    message_delete(message=chat.other_q)
    with pytest.raises(Http404):
        share_get_live(token=share.token)
    assert share_get_live(token=kept.token) == kept


def test_deleting_the_user_deletes_their_links(owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    owner.delete()
    assert not ShareLink.objects.filter(pk=share.pk).exists()
    with pytest.raises(Http404):
        share_get_live(token=share.token)


def test_deactivated_owner_link_is_dead(owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    with pytest.raises(Http404):
        share_get_live(token=share.token)


def test_continue_copies_the_snapshot_into_a_new_conversation(owner, outsider, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    add_turn(chat.conversation, chat.a2, "Later question", "Later answer")
    copy = share_continue(share=share_get_live(token=share.token), user=outsider)

    assert copy.owner == outsider and copy.pk != chat.conversation.pk
    assert copy.project is None and copy.title == "Trip to Lisbon"
    copied = list(Message.objects.filter(conversation=copy).order_by("id"))
    assert [(m.role, m.content) for m in copied] == [
        ("user", "Where should I eat?"),
        ("assistant", "Try **Cervejaria Ramiro**."),
        ("user", "And for dessert?"),
        ("assistant", "Pastéis de nata."),
    ]
    assert [m.parent_id for m in copied] == [None] + [m.pk for m in copied[:-1]]
    assert copy.current_message == copied[-1]
    assert copy.message_count == 4
    assert copy.preview == "Pastéis de nata."
    assert copied[-1].model == "secret-model-7b"
    # The original is untouched.
    assert Message.objects.filter(conversation=chat.conversation).count() == 8


def test_continue_hides_model_names_the_owner_hid(owner, outsider, chat):
    share = share_create(user=owner, conversation=chat.conversation, show_model_names=False)
    copy = share_continue(share=share, user=outsider)
    assert set(Message.objects.filter(conversation=copy).values_list("model", flat=True)) == {""}


def test_continue_of_a_single_message_copies_that_message(owner, outsider, chat):
    share = share_create(
        user=owner, conversation=chat.conversation, message=chat.a1, include_context=False
    )
    copy = share_continue(share=share, user=outsider)
    (only,) = Message.objects.filter(conversation=copy)
    assert only.content == chat.a1.content and only.parent_id is None
    assert copy.current_message == only


def test_continued_conversation_accepts_new_messages(owner, outsider, chat, settings):
    from conversations.services import message_append

    share = share_create(user=owner, conversation=chat.conversation)
    copy = share_continue(share=share, user=outsider)
    added = message_append(conversation=copy, role="user", content="Next?")
    assert added.parent == copy.messages.get(content="Pastéis de nata.")


def test_record_view_counts(owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    for _ in range(3):
        share_record_view(share=share)
    share.refresh_from_db()
    assert share.view_count == 3


@pytest.mark.django_db(transaction=True)
def test_view_count_is_atomic_under_concurrent_views(owner):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    conversation = ConversationFactory(owner=owner)
    add_turn(conversation, None, "q", "a")
    share = share_create(user=owner, conversation=conversation)
    threads_n, views_each = 8, 25
    barrier = threading.Barrier(threads_n)

    def view():
        try:
            barrier.wait()
            for _ in range(views_each):
                share_record_view(share=share)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=view) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    share.refresh_from_db()
    assert share.view_count == threads_n * views_each


def test_naive_expiry_is_refused(owner, chat):
    with pytest.raises(ValidationError, match="time zone"):
        share_create(user=owner, conversation=chat.conversation, expires_at=datetime(2099, 1, 1))
    share = share_create(
        user=owner, conversation=chat.conversation, expires_at=datetime(2099, 1, 1, tzinfo=UTC)
    )
    assert share.expires_at.year == 2099


def test_conversation_model_is_untouched_by_sharing(owner, chat):
    before = Conversation.objects.values().get(pk=chat.conversation.pk)
    share_create(user=owner, conversation=chat.conversation)
    assert Conversation.objects.values().get(pk=chat.conversation.pk) == before


@pytest.mark.parametrize("turns", [1, 20])
def test_continue_takes_a_fixed_number_of_queries(
    owner, outsider, django_assert_num_queries, turns
):
    conversation = ConversationFactory(owner=owner)
    parent = None
    for n in range(turns):
        _, parent = add_turn(conversation, parent, f"q{n}", f"a{n}")
    share = share_get_live(token=share_create(user=owner, conversation=conversation).token)
    # 7 queries: the message path, savepoint, the new conversation, the copies' ids, the copies
    # with their parent links (one insert), the conversation's counts, release savepoint.
    with django_assert_num_queries(7):
        copy = share_continue(share=share, user=outsider)
    copied = list(Message.objects.filter(conversation=copy).order_by("id"))
    assert [m.content for m in copied] == [
        text for n in range(turns) for text in (f"q{n}", f"a{n}")
    ]
    assert [m.parent_id for m in copied] == [None] + [m.pk for m in copied[:-1]]
