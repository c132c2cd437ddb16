import re
import secrets
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.services import conversation_delete, message_delete
from sharing.models import ShareLink
from sharing.services import share_create, share_revoke
from tests.factories import ConversationFactory, ProjectFactory
from tests.sharing.conftest import add_turn

pytestmark = pytest.mark.django_db

PUBLIC_HEADERS = {
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def url(share: ShareLink) -> str:
    return reverse("share-view", args=[share.token])


def assert_public_headers(response):
    for name, value in PUBLIC_HEADERS.items():
        assert response[name] == value, name
    assert '<meta name="robots" content="noindex, nofollow">' in response.text


def test_public_page_needs_no_login_and_shows_the_snapshot(client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    response = client.get(url(share))
    assert response.status_code == 200
    for message in [chat.q1, chat.q2, chat.a2]:
        assert f'id="message-{message.public_id}"' in response.text
    assert "Pastéis de nata." in response.text
    assert "<strong>Cervejaria Ramiro</strong>" in response.text
    assert "Trip to Lisbon" in response.text


def test_public_page_sends_privacy_headers_and_robots_meta(client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    assert_public_headers(client.get(url(share)))


def test_public_page_loads_nothing_from_other_sites_and_runs_no_script(client, owner, chat):
    add_turn(
        chat.conversation, chat.a2, "Show ![x](https://evil.example/x.png)", "<script>x()</script>"
    )
    share = share_create(user=owner, conversation=chat.conversation)
    html = client.get(url(share)).text
    assert "<script" not in html
    # Everything the browser loads by itself (stylesheets, images, frames) comes from here.
    loaded = re.findall(r'<link [^>]*href="([^"]*)"', html) + re.findall(r'src="([^"]*)"', html)
    assert loaded
    for address in loaded:
        assert address.startswith("/static/"), address
    assert "<img" not in html and "<iframe" not in html
    assert "ws-connect" not in html and "hx-" not in html


def test_public_page_shows_no_app_chrome_or_controls(client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    html = client.get(url(share)).text
    assert 'aria-label="Conversations"' not in html
    assert "New chat" not in html
    controls = ["Regenerate", "Edit message", "Send", "textarea", "/regenerate/", "/edit/"]
    for control in [*controls, "Copy message", "Share message", "/share/"]:
        assert control not in html, control
    assert "Previous version" not in html


def test_public_page_never_shows_other_branches_or_later_messages(client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    add_turn(chat.conversation, chat.a2, "Later question", "Later answer")
    html = client.get(url(share)).text
    for hidden in ["Branch question", "Branch answer", "Later question", "Later answer"]:
        assert hidden not in html


def test_public_page_hides_owner_and_project_instructions(client, owner, chat):
    project = ProjectFactory(owner=owner, instructions="Internal: the budget is 500 EUR")
    chat.conversation.project = project
    chat.conversation.save(update_fields=["project"])
    share = share_create(user=owner, conversation=chat.conversation)
    html = client.get(url(share)).text
    assert "Shared conversation" in html
    for private in [owner.username, owner.email, "budget is 500", project.title]:
        assert private not in html, private


def test_model_names_show_only_when_the_owner_allows(client, owner, chat):
    shown = share_create(user=owner, conversation=chat.conversation, show_model_names=True)
    hidden = share_create(user=owner, conversation=chat.conversation, show_model_names=False)
    assert "secret-model-7b" in client.get(url(shown)).text
    assert "secret-model-7b" not in client.get(url(hidden)).text


def test_message_share_without_context_shows_only_that_message(client, owner, chat):
    share = share_create(
        user=owner, conversation=chat.conversation, message=chat.a1, include_context=False
    )
    html = client.get(url(share)).text
    assert f'id="message-{chat.a1.public_id}"' in html
    assert "Shared message" in html
    assert html.count('<article id="message-') == 1


def test_each_view_is_counted(client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    client.get(url(share))
    client.get(url(share))
    share.refresh_from_db()
    assert share.view_count == 2


def dead_links(owner, chat) -> dict[str, str]:
    """Return the address of one link per way a link can die."""
    revoked = share_create(user=owner, conversation=chat.conversation)
    share_revoke(share=revoked)
    expired = share_create(user=owner, conversation=chat.conversation)
    ShareLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    doomed_conv = ConversationFactory(owner=owner)
    add_turn(doomed_conv, None, "q", "a")
    deleted = share_create(user=owner, conversation=doomed_conv)
    conversation_delete(conversation=doomed_conv)
    message_gone = share_create(user=owner, conversation=chat.conversation, message=chat.other_a)
    message_delete(message=chat.other_q)
    return {
        "revoked": url(revoked),
        "expired": url(expired),
        "unknown": reverse("share-view", args=[secrets.token_urlsafe(32)]),
        "deleted conversation": url(deleted),
        "deleted message": url(message_gone),
    }


def test_dead_links_all_answer_the_same_404_page(client, owner, chat):
    responses = {name: client.get(path) for name, path in dead_links(owner, chat).items()}
    bodies = {response.content for response in responses.values()}
    assert len(bodies) == 1
    for name, response in responses.items():
        assert response.status_code == 404, name
        assert_public_headers(response)
        assert "This link doesn't work" in response.text


def test_link_expired_one_second_ago_answers_404_without_cleanup(client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    assert client.get(url(share)).status_code == 200
    ShareLink.objects.filter(pk=share.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(url(share)).status_code == 404
    assert ShareLink.objects.filter(pk=share.pk).exists()


def test_link_of_deleted_user_answers_404(client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    owner.delete()
    assert client.get(url(share)).status_code == 404


def test_random_tokens_never_hit(client, owner, chat):
    share_create(user=owner, conversation=chat.conversation)
    for _ in range(200):
        response = client.get(reverse("share-view", args=[secrets.token_urlsafe(32)]))
        assert response.status_code == 404


def test_dead_link_views_are_not_counted(client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    share_revoke(share=share)
    client.get(url(share))
    share.refresh_from_db()
    assert share.view_count == 0


@pytest.mark.parametrize("turns", [1, 20])
def test_public_page_query_count_is_fixed(client, owner, django_assert_num_queries, turns):
    conversation = ConversationFactory(owner=owner)
    parent = None
    for n in range(turns):
        _, parent = add_turn(conversation, parent, f"q{n}", f"a{n}")
    share = share_create(user=owner, conversation=conversation)
    # 3 queries: the live link with its conversation and cut-off message, the message path
    # (one recursive query), the view count increment.
    with django_assert_num_queries(3):
        response = client.get(url(share))
    assert response.text.count('<article id="message-') == 2 * turns


def test_public_page_query_count_for_a_signed_in_viewer(
    outsider_client, owner, chat, django_assert_num_queries
):
    share = share_create(user=owner, conversation=chat.conversation)
    # 5 queries: session, viewer, the live link, the message path, the view count increment.
    with django_assert_num_queries(5):
        response = outsider_client.get(url(share))
    assert "Continue this conversation" in response.text


def test_anonymous_viewer_is_offered_login_not_continue(client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    html = client.get(url(share)).text
    assert ">Continue this conversation<" not in html
    assert f"/accounts/login/?next=/s/{share.token}/continue/" in html


def test_continue_asks_for_confirmation_on_a_page_that_keeps_the_referrer_here(
    outsider_client, owner, chat
):
    share = share_create(user=owner, conversation=chat.conversation)
    assert reverse("share-continue", args=[share.token]) in outsider_client.get(url(share)).text
    response = outsider_client.get(reverse("share-continue", args=[share.token]))
    assert response.status_code == 200
    # The snapshot page sends no referrer, so its own forms would post `Origin: null`.
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Cache-Control"] == "no-store"
    assert 'method="post"' in response.text
    assert "Continue this conversation" in response.text
    assert Conversation.objects.count() == 1


def test_continue_is_csrf_protected(owner, outsider, chat):
    from django.test import Client

    share = share_create(user=owner, conversation=chat.conversation)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(outsider)
    address = reverse("share-continue", args=[share.token])
    assert strict.post(address).status_code == 403
    page = strict.get(address)
    token = page.context["csrf_token"]
    origin = "http://testserver"
    response = strict.post(address, {"csrfmiddlewaretoken": str(token)}, headers={"Origin": origin})
    assert response.status_code == 302
    assert Conversation.objects.filter(owner=outsider).count() == 1


def test_continue_copies_the_snapshot_and_opens_it(outsider_client, outsider, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    response = outsider_client.post(reverse("share-continue", args=[share.token]))
    copy = Conversation.objects.get(owner=outsider)
    assert response.status_code == 302
    assert response["Location"] == reverse("conversation", args=[copy.public_id])
    assert list(copy.messages.order_by("id").values_list("content", flat=True)) == [
        chat.q1.content,
        chat.a1.content,
        chat.q2.content,
        chat.a2.content,
    ]
    opened = outsider_client.get(response["Location"])
    assert opened.status_code == 200
    assert "Pastéis de nata." in opened.text


def test_continue_needs_a_signed_in_viewer(client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    for method in [client.get, client.post]:
        response = method(reverse("share-continue", args=[share.token]))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
        assert f"next=/s/{share.token}/continue/" in response["Location"]
    assert Conversation.objects.count() == 1


def test_continue_on_a_dead_link_is_404(outsider_client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    share_revoke(share=share)
    response = outsider_client.post(reverse("share-continue", args=[share.token]))
    assert response.status_code == 404
    assert not Conversation.objects.exclude(pk=chat.conversation.pk).exists()


def test_public_page_is_read_only(client, owner, chat):
    share = share_create(user=owner, conversation=chat.conversation)
    for method in [client.post, client.put, client.delete]:
        assert method(url(share)).status_code == 405
    assert Message.objects.filter(conversation=chat.conversation).count() == 6


def test_robots_txt_disallows_share_pages(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "User-agent: *" in response.text
    assert "Disallow: /s/" in response.text.splitlines()
