from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sharing.models import ShareLink
from sharing.services import share_create, share_revoke
from tests.factories import ConversationFactory
from tests.sharing.conftest import add_turn

pytestmark = pytest.mark.django_db


def dialog_url(conversation, message=None) -> str:
    address = reverse("share-dialog", args=[conversation.public_id])
    return f"{address}?message={message.public_id}" if message else address


# --- Share dialog --------------------------------------------------------------------------


def test_dialog_page_offers_the_options(owner_client, chat):
    response = owner_client.get(dialog_url(chat.conversation))
    assert response.status_code == 200
    html = response.text
    assert "Share conversation" in html
    for option in ["Never", "1 hour", "1 day", "7 days", "30 days", "On a date"]:
        assert option in html
    assert "Show model names" in html
    assert "Include the conversation before this message" not in html
    assert 'aria-label="Conversations"' in html  # the full page keeps the app's sidebar


def test_dialog_for_htmx_is_the_partial(owner_client, chat):
    response = owner_client.get(dialog_url(chat.conversation), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<dialog id="share-dialog"')
    assert "<html" not in response.text


def test_dialog_for_a_message_offers_context(owner_client, chat):
    html = owner_client.get(dialog_url(chat.conversation, chat.a1)).text
    assert "Share message" in html
    assert "Include the conversation before this message" in html


@pytest.mark.parametrize("method", ["get", "post"])
def test_dialog_of_another_users_conversation_is_404(outsider_client, chat, method):
    response = getattr(outsider_client, method)(dialog_url(chat.conversation), {"expiry": "never"})
    assert response.status_code == 404
    assert not ShareLink.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_dialog_sends_anonymous_visitors_to_login(client, chat, method):
    response = getattr(client, method)(dialog_url(chat.conversation), {"expiry": "never"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not ShareLink.objects.exists()


def test_dialog_refuses_a_message_of_another_conversation(owner_client, owner, chat):
    elsewhere = ConversationFactory(owner=owner)
    _, foreign = add_turn(elsewhere, None, "q", "a")
    response = owner_client.post(dialog_url(chat.conversation, foreign), {"expiry": "never"})
    assert response.status_code == 404
    assert not ShareLink.objects.exists()


def test_creating_a_link_shows_it_with_a_copy_button(owner_client, owner, chat):
    before = timezone.now()
    response = owner_client.post(
        dialog_url(chat.conversation),
        {"expiry": "7d", "show_model_names": "on"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    share = ShareLink.objects.get()
    assert share.owner == owner and share.message == chat.a2 and share.show_model_names
    assert before + timedelta(days=7) <= share.expires_at <= timezone.now() + timedelta(days=7)
    assert f'value="http://testserver/s/{share.token}/"' in response.text
    assert "Copy link" in response.text


@pytest.mark.parametrize(
    "choice, length", [("never", None), ("1h", timedelta(hours=1)), ("30d", timedelta(days=30))]
)
def test_expiry_choices(owner_client, chat, choice, length):
    owner_client.post(dialog_url(chat.conversation), {"expiry": choice})
    share = ShareLink.objects.get()
    if length is None:
        assert share.expires_at is None
    else:
        assert abs(share.expires_at - (timezone.now() + length)) < timedelta(minutes=1)


def test_expiry_on_a_date_lasts_through_that_day(owner_client, chat):
    day = timezone.localdate() + timedelta(days=3)
    owner_client.post(dialog_url(chat.conversation), {"expiry": "date", "expires_on": day})
    share = ShareLink.objects.get()
    assert timezone.localtime(share.expires_at).date() == day + timedelta(days=1)
    assert timezone.localtime(share.expires_at).hour == 0


@pytest.mark.parametrize(
    "data, error",
    [
        ({"expiry": "date"}, "Pick the day"),
        ({"expiry": "date", "expires_on": "2001-01-01"}, "today or a later day"),
        ({"expiry": "forever"}, "Select a valid choice"),
    ],
)
def test_bad_expiry_is_a_clear_error(owner_client, chat, data, error):
    response = owner_client.post(dialog_url(chat.conversation), data)
    assert response.status_code == 422
    assert error in response.text
    assert not ShareLink.objects.exists()


def test_unchecked_model_names_hide_them(owner_client, chat):
    owner_client.post(dialog_url(chat.conversation), {"expiry": "never"})
    assert not ShareLink.objects.get().show_model_names


def test_message_share_without_context(owner_client, chat):
    owner_client.post(dialog_url(chat.conversation, chat.a1), {"expiry": "never"})
    share = ShareLink.objects.get()
    assert share.message == chat.a1 and not share.include_context


def test_message_share_with_context(owner_client, chat):
    owner_client.post(
        dialog_url(chat.conversation, chat.a1), {"expiry": "never", "include_context": "on"}
    )
    share = ShareLink.objects.get()
    assert share.message == chat.a1 and share.include_context


def test_empty_conversation_shows_why_it_cannot_be_shared(owner_client, owner):
    empty = ConversationFactory(owner=owner)
    response = owner_client.post(dialog_url(empty), {"expiry": "never"})
    assert response.status_code == 422
    assert "no messages yet" in response.text
    assert not ShareLink.objects.exists()


# --- Shared links page ---------------------------------------------------------------------


def test_shared_links_lists_the_users_links(owner_client, owner, outsider, chat):
    live = share_create(user=owner, conversation=chat.conversation, expires_in=timedelta(days=1))
    live.view_count = 7
    live.save(update_fields=["view_count"])
    revoked = share_create(user=owner, conversation=chat.conversation)
    share_revoke(share=revoked)
    theirs_conv = ConversationFactory(owner=outsider, title="Not yours")
    add_turn(theirs_conv, None, "q", "a")
    share_create(user=outsider, conversation=theirs_conv)

    response = owner_client.get(reverse("shared-links"))
    assert response.status_code == 200
    html = response.text
    assert "Trip to Lisbon" in html
    assert '<td data-label="Views">7</td>' in html
    assert "Revoked" in html
    assert f"/s/{live.token}/" in html
    assert reverse("share-revoke", args=[live.token]) in html
    assert reverse("share-revoke", args=[revoked.token]) not in html
    assert "Not yours" not in html


def test_shared_links_sends_anonymous_visitors_to_login(client):
    response = client.get(reverse("shared-links"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_shared_links_marks_expired_links(owner_client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    ShareLink.objects.filter(pk=share.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    html = owner_client.get(reverse("shared-links")).text
    assert "Expired" in html
    assert f'/s/{share.token}/"' not in html


@pytest.mark.parametrize("links", [2, 30])
def test_shared_links_query_count_is_fixed(owner_client, owner, django_assert_num_queries, links):
    for n in range(links):
        conversation = ConversationFactory(owner=owner, title=f"Conversation {n}")
        add_turn(conversation, None, "q", "a")
        share_create(user=owner, conversation=conversation)
    # 5 queries: session, user, the links with their conversations, sidebar pinned rows,
    # sidebar dated page.
    with django_assert_num_queries(5):
        response = owner_client.get(reverse("shared-links"))
    assert response.text.count("Revoke<span") == links


def test_shared_links_pages_with_a_cursor(owner_client, owner, chat, monkeypatch):
    monkeypatch.setattr("sharing.views.SHARED_LINKS_PAGE", 2)
    shares = [share_create(user=owner, conversation=chat.conversation) for _ in range(3)]
    first = owner_client.get(reverse("shared-links"))
    assert "Older links" in first.text
    assert f"/s/{shares[0].token}/" not in first.text
    cursor = first.context["links_cursor"]
    second = owner_client.get(reverse("shared-links"), {"cursor": cursor})
    assert f"/s/{shares[0].token}/" in second.text
    assert "Older links" not in second.text
    assert owner_client.get(reverse("shared-links"), {"cursor": "junk"}).status_code == 302


def test_owner_revokes_one_link(owner_client, client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    other = share_create(user=owner, conversation=chat.conversation)
    response = owner_client.post(reverse("share-revoke", args=[share.token]), follow=True)
    assert "revoked" in response.text
    share.refresh_from_db()
    other.refresh_from_db()
    assert share.revoked_at is not None and other.revoked_at is None
    assert owner_client.get(reverse("share-view", args=[share.token])).status_code == 404


def test_outsider_cannot_revoke(outsider_client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    response = outsider_client.post(reverse("share-revoke", args=[share.token]))
    assert response.status_code == 404
    share.refresh_from_db()
    assert share.revoked_at is None


def test_anonymous_cannot_revoke(client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    assert client.post(reverse("share-revoke", args=[share.token])).status_code == 302
    assert client.post(reverse("share-revoke-all")).status_code == 302
    share.refresh_from_db()
    assert share.revoked_at is None


def test_revoke_needs_post(owner_client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    assert owner_client.get(reverse("share-revoke", args=[share.token])).status_code == 405
    assert owner_client.get(reverse("share-revoke-all")).status_code == 405
    share.refresh_from_db()
    assert share.revoked_at is None


def test_revoke_all_revokes_only_the_users_links(owner_client, owner, outsider, chat):
    mine = [share_create(user=owner, conversation=chat.conversation) for _ in range(3)]
    theirs_conv = ConversationFactory(owner=outsider)
    add_turn(theirs_conv, None, "q", "a")
    theirs = share_create(user=outsider, conversation=theirs_conv)
    html = owner_client.get(reverse("shared-links")).text
    assert "Revoke all links…" in html and "cannot be undone" in html
    response = owner_client.post(reverse("share-revoke-all"), follow=True)
    assert "Revoked 3 links." in response.text
    assert not ShareLink.objects.filter(pk__in=[s.pk for s in mine], revoked_at=None).exists()
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_dialog_query_count(owner_client, chat, django_assert_num_queries):
    # 4 queries: session, user, the conversation (ownership), the message (ownership).
    with django_assert_num_queries(4):
        response = owner_client.get(
            dialog_url(chat.conversation, chat.a1), headers={"HX-Request": "true"}
        )
    assert response.status_code == 200
