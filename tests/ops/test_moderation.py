import pytest
from django.core.exceptions import ValidationError

from conversations import moderation, services
from conversations.models import Conversation, Message, ModerationEvent
from sharing.models import ShareLink
from tests.ops.world import days_ago, make_conversation, share


@pytest.fixture
def conversation(owner):
    return make_conversation(owner=owner, messages=4)


def test_lock_refuses_the_next_send_with_the_reason(conversation, staff):
    moderation.conversation_lock(conversation=conversation, actor=staff, reason="Spam")

    fresh = Conversation.objects.get(pk=conversation.pk)
    with pytest.raises(services.ConversationNotOpen, match="locked: Spam"):
        services.message_send(conversation=fresh, content="hello?")
    assert fresh.message_count == 4
    assert Message.objects.filter(conversation=fresh).count() == 4


def test_close_refuses_the_next_send_with_the_reason(conversation, staff):
    moderation.conversation_close(conversation=conversation, actor=staff, reason="Abuse")

    with pytest.raises(services.ConversationNotOpen, match="closed: Abuse"):
        services.message_send(conversation=conversation, content="hello?")


def test_reopen_lets_the_owner_send_again(conversation, staff):
    moderation.conversation_lock(conversation=conversation, actor=staff, reason="Spam")
    moderation.conversation_reopen(conversation=conversation, actor=staff)

    conversation.refresh_from_db()
    assert (conversation.status, conversation.status_reason) == ("active", "")
    result = services.message_send(conversation=conversation, content="back again")
    assert result.created


def test_moderation_keeps_the_conversation_in_place_in_the_sidebar(owner, staff):
    conversation = make_conversation(owner=owner, age_days=3)
    before = conversation.updated_at

    moderation.conversation_lock(conversation=conversation, actor=staff, reason="Spam")

    conversation.refresh_from_db()
    assert conversation.updated_at == before


@pytest.mark.parametrize("service", [moderation.conversation_lock, moderation.conversation_close])
def test_lock_and_close_require_a_reason(conversation, staff, service):
    with pytest.raises(ValidationError):
        service(conversation=conversation, actor=staff, reason="   ")

    conversation.refresh_from_db()
    assert conversation.status == "active"
    assert not ModerationEvent.objects.exists()


def test_each_action_is_logged_with_actor_and_reason(conversation, staff):
    moderation.conversation_lock(conversation=conversation, actor=staff, reason="Spam")
    moderation.conversation_reopen(conversation=conversation, actor=staff, reason="Appeal")

    log = list(ModerationEvent.objects.order_by("id").values_list("actor", "action", "reason"))
    assert log == [(staff.pk, "lock", "Spam"), (staff.pk, "reopen", "Appeal")]


def test_revoke_shares_revokes_every_live_link_only(conversation, staff):
    live = share(conversation)
    expired = share(conversation, expires_at=days_ago(1))
    already = share(conversation, revoked_at=days_ago(2))

    revoked = moderation.conversation_revoke_shares(conversation=conversation, actor=staff)

    assert revoked == 2
    assert not ShareLink.objects.live().filter(conversation=conversation).exists()
    already.refresh_from_db()
    assert already.revoked_at < days_ago(1)  # an earlier revocation keeps its date
    assert {live.pk, expired.pk} == set(
        ShareLink.objects.filter(revoked_at__gt=days_ago(1)).values_list("pk", flat=True)
    )
    assert ModerationEvent.objects.get().action == "revoke_shares"


def test_delete_removes_messages_and_shares_but_keeps_the_log(conversation, staff):
    share(conversation)
    public_id, title = conversation.public_id, conversation.title

    moderation.conversation_delete_moderated(
        conversation=conversation, actor=staff, reason="Illegal content"
    )

    assert not Conversation.objects.filter(public_id=public_id).exists()
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()
    assert not ShareLink.objects.filter(conversation_id=conversation.pk).exists()
    event = ModerationEvent.objects.get()
    assert (event.conversation_id, event.conversation_public_id, event.conversation_title) == (
        None,
        public_id,
        title,
    )
    assert (event.action, event.reason, event.actor) == ("delete", "Illegal content", staff)
