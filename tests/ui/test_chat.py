"""The chat pane: the active branch, sending, stopping, regenerating, editing and branches."""

import re

import pytest
from django.test import override_settings

from conversations.models import Conversation, Message
from tests.factories import ConversationFactory, MessageFactory
from tests.ui.conftest import HTMX, in_progress_turn, make_thread


def article_ids(html: str) -> list[str]:
    return re.findall(r'<article id="message-(msg_[0-9a-f]+)"', html)


# --- Reading ---------------------------------------------------------------------------------


def test_conversation_page_shows_the_active_branch(owner_client, conversation):
    response = owner_client.get(f"/c/{conversation.public_id}/")
    html = response.content.decode()
    messages = list(conversation.messages.order_by("created_at"))
    assert article_ids(html) == [m.public_id for m in messages]
    assert f'hx-ext="ws" ws-connect="/ws/chat/{conversation.public_id}/"' in html
    assert '<h1 id="chat-title" class="chat-title">Trip planning</h1>' in html
    assert '<span class="message-role">Assistant</span>' in html
    assert '<span class="message-model">demo</span>' in html
    assert "<time datetime=" in html
    assert html.count("data-copy-message") == 4
    assert '<label for="composer-input" class="visually-hidden">Message</label>' in html
    assert 'aria-current="page"' in html


def test_markdown_in_messages_is_rendered_and_sanitized(owner_client, owner):
    conv = ConversationFactory(owner=owner)
    reply = MessageFactory(
        conversation=conv,
        role=Message.Role.ASSISTANT,
        content="# Hi\n\n```python\nx = 1\n```\n\n<script>alert(1)</script>",
    )
    conv.current_message = reply
    conv.save()
    html = owner_client.get(f"/c/{conv.public_id}/").content.decode()
    assert '<pre class="highlight" data-lang="python">' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html


def test_token_total_is_shown(owner_client, owner):
    conv = ConversationFactory(owner=owner, token_count=12345)
    make_thread(conv, 2)
    html = owner_client.get(f"/c/{conv.public_id}/").content.decode()
    assert "12,345 tokens" in html


@pytest.mark.parametrize("size", [10, 10_000])
def test_opening_a_conversation_costs_the_same_at_any_length(
    owner_client, owner, django_assert_num_queries, size
):
    conv = ConversationFactory(owner=owner)
    make_thread(conv, size)
    # Expect 7 queries: session, user, conversation, branch path (one recursive query),
    # sibling positions, pinned list, sidebar page.
    with django_assert_num_queries(7):
        response = owner_client.get(f"/c/{conv.public_id}/")
    assert len(article_ids(response.content.decode())) == min(size, 50)


@pytest.mark.parametrize("size", [10, 10_000])
def test_the_chat_pane_costs_the_same_at_any_length(
    owner_client, owner, django_assert_num_queries, size
):
    conv = ConversationFactory(owner=owner)
    make_thread(conv, size)
    # Expect 5 queries: session, user, conversation, branch path (one recursive query that
    # stops after 51 rows), sibling positions. No sidebar: the pane swaps into the page.
    with django_assert_num_queries(5) as captured:
        response = owner_client.get(f"/c/{conv.public_id}/", headers=HTMX)
    assert len(article_ids(response.content.decode())) == min(size, 50)
    path_query = captured.captured_queries[3]["sql"]
    assert "WITH RECURSIVE" in path_query and "p.depth <" in path_query
    # The article shows neither datetime, and each is parsed twice a row on SQLite.
    assert "m.updated_at" not in path_query and "m.feedback_at" not in path_query
    assert "m.created_at" in path_query


def test_chat_pane_partial_query_count(owner_client, conversation, django_assert_num_queries):
    # Expect 5 queries: session, user, conversation, branch path, sibling positions.
    with django_assert_num_queries(5):
        response = owner_client.get(f"/c/{conversation.public_id}/", headers=HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<main id="chat-pane"')
    assert "<!doctype html>" not in html


def test_older_messages_load_before_the_oldest_shown(
    owner_client, owner, django_assert_num_queries
):
    conv = ConversationFactory(owner=owner)
    rows = make_thread(conv, 120)
    html = owner_client.get(f"/c/{conv.public_id}/").content.decode()
    assert article_ids(html) == [m.public_id for m in rows[70:]]
    before = rows[70].public_id
    assert f'hx-get="/c/{conv.public_id}/messages/?before={before}"' in html

    # Expect 6 queries: session, user, conversation, the `before` message, path, siblings.
    with django_assert_num_queries(6):
        older = owner_client.get(f"/c/{conv.public_id}/messages/?before={before}", headers=HTMX)
    older_html = older.content.decode()
    assert article_ids(older_html) == [m.public_id for m in rows[20:70]]
    assert f"before={rows[20].public_id}" in older_html

    oldest = owner_client.get(
        f"/c/{conv.public_id}/messages/?before={rows[20].public_id}", headers=HTMX
    ).content.decode()
    assert article_ids(oldest) == [m.public_id for m in rows[:20]]
    assert "Load older messages" not in oldest


def test_older_messages_without_javascript_open_the_page_at_that_point(owner_client, owner):
    conv = ConversationFactory(owner=owner)
    rows = make_thread(conv, 60)
    response = owner_client.get(f"/c/{conv.public_id}/?before={rows[10].public_id}")
    assert article_ids(response.content.decode()) == [m.public_id for m in rows[:10]]


def test_before_message_of_another_conversation_is_404(owner_client, owner, conversation):
    other = ConversationFactory(owner=owner)
    rows = make_thread(other, 2)
    response = owner_client.get(
        f"/c/{conversation.public_id}/messages/?before={rows[1].public_id}", headers=HTMX
    )
    assert response.status_code == 404


def test_message_list_partial_refreshes_the_thread(owner_client, conversation):
    html = owner_client.get(f"/c/{conversation.public_id}/messages/", headers=HTMX).content.decode()
    assert html.lstrip().startswith('<div id="message-list"')
    assert len(article_ids(html)) == 4


def test_deleted_conversation_says_so(owner_client, owner):
    conv = ConversationFactory(owner=owner)
    public_id = conv.public_id
    conv.delete()
    response = owner_client.get(f"/c/{public_id}/")
    assert response.status_code == 404
    assert "Conversation not found" in response.content.decode()
    assert "It was deleted, or it never existed." in response.content.decode()


def test_empty_pane_for_a_new_chat(owner_client, owner, django_assert_num_queries):
    ConversationFactory.create_batch(3, owner=owner)
    # Expect 4 queries: session, user, pinned list, sidebar page.
    with django_assert_num_queries(4):
        html = owner_client.get("/").content.decode()
    assert 'ws-connect="/ws/chat/"' in html
    assert 'action="/send/"' in html
    assert "How can I help?" in html


@override_settings(CHAT_MODELS=["small", "large"])
def test_model_picker_lists_configured_models_and_keeps_the_last_used(owner_client, owner):
    conv = ConversationFactory(owner=owner)
    MessageFactory(conversation=conv, role=Message.Role.ASSISTANT, model="large")
    conv.current_message = conv.messages.get()
    conv.save()
    html = owner_client.get(f"/c/{conv.public_id}/").content.decode()
    composer = html.split('id="composer"')[1]
    assert '<option value="small">small</option>' in composer
    assert '<option value="large" selected>large</option>' in composer


# --- Statuses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason", "shown"),
    [
        ("stopped", "Stopped by user.", "Stopped by user."),
        ("incomplete", "", "This reply is incomplete."),
        ("failed", "Upstream error: 500", "Upstream error: 500"),
    ],
)
def test_unfinished_reply_shows_why(owner_client, owner, status, reason, shown):
    conv = ConversationFactory(owner=owner)
    rows = make_thread(conv, 2)
    Message.objects.filter(pk=rows[1].pk).update(status=status, status_reason=reason)
    html = owner_client.get(f"/c/{conv.public_id}/").content.decode()
    assert f'<p class="message-status status-{status}" role="status">' in html
    assert shown in html
    assert ">Retry</span>" in html


def test_reply_in_progress_shows_stop_and_typing(owner_client, conversation):
    in_progress_turn(conversation)
    html = owner_client.get(f"/c/{conversation.public_id}/").content.decode()
    assert 'class="composer is-generating"' in html
    assert f'formaction="/c/{conversation.public_id}/stop/"' in html
    assert 'data-status="in_progress"' in html
    assert "Generating a reply" in html


@pytest.mark.parametrize("status", ["locked", "closed"])
def test_locked_or_closed_conversation_shows_reason_and_disables_composer(
    owner_client, conversation, status
):
    Conversation.objects.filter(pk=conversation.pk).update(
        status=status, status_reason="Under review by moderators."
    )
    html = owner_client.get(f"/c/{conversation.public_id}/").content.decode()
    assert f"This conversation is {status}." in html
    assert "Under review by moderators." in html
    assert "data-composer-input disabled" in html
    assert 'class="chat is-closed"' in html


def test_sibling_arrows_show_position(owner_client, owner):
    conv = ConversationFactory(owner=owner)
    question = MessageFactory(conversation=conv, content="Q")
    MessageFactory(conversation=conv, parent=question, role="assistant", content="v1")
    second = MessageFactory(conversation=conv, parent=question, role="assistant", content="v2")
    MessageFactory(conversation=conv, parent=question, role="assistant", content="v3")
    conv.current_message = second
    conv.save()
    html = owner_client.get(f"/c/{conv.public_id}/").content.decode()
    assert '<span class="version-count">2/3</span>' in html
    assert "Previous version" in html and "Next version" in html


# --- Sending ---------------------------------------------------------------------------------


def test_send_appends_the_turn_and_resets_the_composer(owner_client, conversation):
    response = owner_client.post(
        f"/c/{conversation.public_id}/messages/",
        {"content": "Hello **there**", "client_id": "c-1"},
        headers=HTMX,
    )
    assert response.status_code == 200
    question, reply = conversation.messages.order_by("-created_at", "-id")[:2][::-1]
    assert (question.content, question.client_id) == ("Hello **there**", "c-1")
    assert reply.status == Message.Status.IN_PROGRESS
    html = response.content.decode()
    assert article_ids(html) == [question.public_id, reply.public_id]
    assert 'id="composer" class="composer is-generating"' in html
    assert 'hx-swap-oob="true"' in html
    assert "data-composer-input></textarea>" in html  # emptied for the next message


def test_repeated_client_id_creates_nothing_new(owner_client, conversation):
    url = f"/c/{conversation.public_id}/messages/"
    owner_client.post(url, {"content": "Once", "client_id": "same"}, headers=HTMX)
    Message.objects.filter(status="in_progress").update(status="completed")
    owner_client.post(url, {"content": "Once", "client_id": "same"}, headers=HTMX)
    assert conversation.messages.filter(content="Once").count() == 1


def test_plain_form_post_sends_and_redirects(owner_client, conversation):
    response = owner_client.post(
        f"/c/{conversation.public_id}/messages/", {"content": "No JavaScript here"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/c/{conversation.public_id}/"
    assert conversation.messages.filter(content="No JavaScript here").exists()


def test_new_chat_is_created_with_its_first_message(owner_client, owner):
    response = owner_client.post("/send/", {"content": "First words", "model": "demo"})
    conv = Conversation.objects.get(owner=owner)
    assert response.status_code == 302
    assert response["Location"] == f"/c/{conv.public_id}/"
    assert conv.message_count == 2
    assert conv.messages.filter(role="user").get().content == "First words"


def test_new_chat_over_htmx_swaps_in_its_pane(owner_client, owner):
    response = owner_client.post("/send/", {"content": "Hi"}, headers=HTMX)
    conv = Conversation.objects.get(owner=owner)
    assert response["HX-Push-Url"] == f"/c/{conv.public_id}/"
    html = response.content.decode()
    assert f'ws-connect="/ws/chat/{conv.public_id}/"' in html
    assert len(article_ids(html)) == 2
    assert 'id="sidebar-refresh" hx-swap-oob="true"' in html


def test_new_chat_with_empty_message_creates_nothing_and_explains(owner_client, owner):
    response = owner_client.post("/send/", {"content": "   "}, headers=HTMX)
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#composer"
    assert "Type a message." in response.content.decode()
    assert not Conversation.objects.filter(owner=owner).exists()


@override_settings(MAX_MESSAGE_CHARS=10)
def test_too_long_message_is_refused_and_the_text_is_kept(owner_client, conversation):
    text = "This is far too long"
    response = owner_client.post(
        f"/c/{conversation.public_id}/messages/",
        {"content": text, "client_id": "keep-me"},
        headers=HTMX,
    )
    assert response.status_code == 413
    html = response.content.decode()
    assert response["HX-Reswap"] == "outerHTML"
    assert "Messages are at most 10 characters" in html
    assert f">{text}</textarea>" in html
    assert 'value="keep-me"' in html


def test_send_while_a_reply_runs_is_409_and_keeps_the_text(owner_client, conversation):
    in_progress_turn(conversation)
    response = owner_client.post(
        f"/c/{conversation.public_id}/messages/", {"content": "Wait for me"}, headers=HTMX
    )
    assert response.status_code == 409
    assert "still being generated" in response.content.decode()
    assert ">Wait for me</textarea>" in response.content.decode()


def test_send_to_a_locked_conversation_is_403_without_javascript_too(owner_client, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(status="locked", status_reason="Spam")
    response = owner_client.post(f"/c/{conversation.public_id}/messages/", {"content": "Hi"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "This conversation is locked: Spam" in html
    assert "<!doctype html>" in html
    assert not conversation.messages.filter(content="Hi").exists()


# --- Stop, regenerate, edit, branches -----------------------------------------------------


def test_stop_keeps_partial_reply(owner_client, conversation):
    running = in_progress_turn(conversation)
    response = owner_client.post(f"/c/{conversation.public_id}/stop/", headers=HTMX)
    assert response.status_code == 204
    running.refresh_from_db()
    assert running.status == Message.Status.STOPPED
    assert running.content == "Half a rep"


def test_stop_without_javascript_redirects(owner_client, conversation):
    in_progress_turn(conversation)
    response = owner_client.post(f"/c/{conversation.public_id}/stop/")
    assert response.status_code == 302


def test_regenerate_adds_a_sibling_and_shows_its_position(owner_client, conversation, reply):
    response = owner_client.post(f"/m/{reply.public_id}/regenerate/", headers=HTMX)
    assert response.status_code == 200
    conversation.refresh_from_db()
    new = conversation.current_message
    assert new.parent_id == reply.parent_id and new.pk != reply.pk
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="message-list"')
    assert '<span class="version-count">2/2</span>' in html
    assert reply.public_id not in article_ids(html)
    assert 'data-status="in_progress"' in html


def test_edit_becomes_a_sibling_branch_with_its_own_reply(owner_client, conversation, user_message):
    response = owner_client.post(
        f"/m/{user_message.public_id}/edit/", {"content": "Edited question"}, headers=HTMX
    )
    assert response.status_code == 200
    conversation.refresh_from_db()
    new_reply = conversation.current_message
    edited = new_reply.parent
    assert edited.content == "Edited question"
    assert edited.parent_id == user_message.parent_id
    assert Message.objects.filter(pk=user_message.pk).exists()
    assert '<span class="version-count">2/2</span>' in response.content.decode()


def test_switch_branch_moves_to_the_previous_version(owner_client, conversation, reply):
    owner_client.post(f"/m/{reply.public_id}/regenerate/", headers=HTMX)
    Message.objects.filter(status="in_progress").update(status="completed")
    conversation.refresh_from_db()
    newest = conversation.current_message
    response = owner_client.post(
        f"/m/{newest.public_id}/switch/", {"direction": "prev"}, headers=HTMX
    )
    conversation.refresh_from_db()
    assert conversation.current_message_id == reply.pk
    html = response.content.decode()
    assert '<span class="version-count">1/2</span>' in html
    assert reply.public_id in article_ids(html)


def test_switch_past_the_last_version_changes_nothing(owner_client, conversation, reply):
    response = owner_client.post(f"/m/{reply.public_id}/switch/", {"direction": "next"})
    conversation.refresh_from_db()
    assert response.status_code == 302
    assert conversation.current_message_id == reply.pk


def test_regenerate_in_a_closed_conversation_explains_inline(owner_client, conversation, reply):
    Conversation.objects.filter(pk=conversation.pk).update(status="closed")
    response = owner_client.post(f"/m/{reply.public_id}/regenerate/", headers=HTMX)
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#composer"
    assert "This conversation is closed" in response.content.decode()


def test_edit_with_empty_text_is_400(owner_client, user_message):
    response = owner_client.post(
        f"/m/{user_message.public_id}/edit/", {"content": ""}, headers=HTMX
    )
    assert response.status_code == 400
    assert "Type a message." in response.content.decode()
