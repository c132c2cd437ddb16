"""Message articles rendered once and reused: the partial's HTML, a fresh token each response."""

import re
from datetime import timedelta

import pytest
from django.template import engines
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone, translation

from conversations.models import Message
from conversations.rendering import RENDER_VERSION, message_html
from conversations.templatetags.chat import _TOKEN_SLOT, ARTICLE_CACHE_MAX_CHARS, _article_parts
from tests.factories import ConversationFactory, MessageFactory
from tests.ui.conftest import HTMX, make_thread

CACHED = engines["django"].from_string("{% load chat %}{% message_articles entries %}")
# What the chat page rendered before: the partial included once per entry.
INCLUDED = engines["django"].from_string(
    '{% for message, position, count in entries %}{% include "conversations/_message.html" %}'
    "{% endfor %}"
)
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]*)"')


def stored(message: Message, content: str) -> Message:
    message.content = content
    message.content_html, message.render_version = message_html(content), RENDER_VERSION
    message.save()
    return message


@pytest.fixture
def variety(owner):
    """Every kind of article: roles, statuses, versions, feedback, continue, long, streaming."""
    conversation = ConversationFactory(owner=owner, title="Variety")
    rows = make_thread(conversation, 4)
    stored(rows[0], "Plan a **trip** to <Lisbon> & back")
    rows[1].feedback_rating, rows[1].feedback_comment = "up", "Spot on"
    stored(rows[1], "Day one:\n\n- Alfama\n- Belém\n\n```python\nprint('hi')\n```")
    rows[3].status, rows[3].status_reason = Message.Status.STOPPED, ""
    stored(rows[3], "It was going to say")
    failed = MessageFactory(
        conversation=conversation,
        parent=rows[2],
        role=Message.Role.ASSISTANT,
        status=Message.Status.FAILED,
        status_reason="The model is unavailable.",
        model="demo",
    )
    long = stored(
        MessageFactory(conversation=conversation, parent=rows[3]), "word " * ARTICLE_CACHE_MAX_CHARS
    )
    running = MessageFactory(
        conversation=conversation,
        parent=long,
        role=Message.Role.ASSISTANT,
        status=Message.Status.IN_PROGRESS,
        content="Half a rep",
        model="demo",
    )
    conversation.current_message = rows[3]
    conversation.save(update_fields=["current_message"])
    entries = [(rows[0], 1, 1), (rows[1], 1, 1), (rows[2], 1, 1), (failed, 1, 2), (rows[3], 2, 2)]
    return conversation, entries + [(long, 1, 1), (running, 1, 1)]


FLAGS = [
    {},
    {"read_only": True, "hide_model_names": True, "user_label": "User"},
    {"read_only": True, "hide_model_names": False, "user_label": ""},
    {"read_only": False, "hide_model_names": True, "user_label": "Ana"},
]


@override_settings(CHAT_MODELS=["demo", "other"])
def test_articles_are_what_the_partial_renders(variety):
    conversation, entries = variety
    base = {"conversation": conversation, "entries": entries, "csrf_token": "t0ken"}
    expected = INCLUDED.render(base)
    assert "Previous version" in expected and "Continue" in expected  # the variety is there
    for flags in FLAGS * 2:  # the first round fills the cache, the second reads it
        context = base | flags
        html = CACHED.render(context)
        assert html == INCLUDED.render(context)
        assert _TOKEN_SLOT not in html
    with override_settings(CHAT_MODELS=["demo"]):  # no model picker on regenerate
        assert CACHED.render(base) == INCLUDED.render(base) != expected


def test_an_article_is_rendered_once_and_again_when_what_it_shows_changes(variety):
    conversation, entries = variety
    context = {"conversation": conversation, "entries": entries[:5], "csrf_token": "a"}
    CACHED.render(context)
    before = _article_parts.cache_info()
    CACHED.render(context | {"csrf_token": "b"})  # another response: another token, same HTML
    after = _article_parts.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (5, 0)

    reply = entries[1][0]
    changes = {
        "feedback_rating": "down",
        "feedback_comment": "Too long",
        "status": Message.Status.INCOMPLETE,
        "status_reason": "Cut short.",
        "model": "other",
        "input_tokens": 12,
        "output_tokens": 3400,
        "content_html": "<p>Edited</p>",
        "created_at": reply.created_at - timedelta(days=400),
    }
    for field, value in changes.items():
        setattr(reply, field, value)
        assert CACHED.render(context) == INCLUDED.render(context), field
    entries[0][0].content = "An edited question"  # the edit box shows the text
    conversation.current_message = entries[1][0]  # "Continue" follows the leaf
    versions = context | {"entries": [(e[0], 2, 3) for e in entries[:5]]}
    for each in (context, versions):
        assert CACHED.render(each) == INCLUDED.render(each)
    assert "An edited question" in CACHED.render(context)
    with timezone.override("Asia/Tokyo"):  # times show in the viewer's zone
        assert "+09:00" in CACHED.render(context) == INCLUDED.render(context)
    with translation.override("de"):  # and in the viewer's language's format
        assert "Dez" in CACHED.render(context) == INCLUDED.render(context)


def test_a_streaming_reply_and_a_long_message_are_not_kept(variety):
    conversation, entries = variety
    before = _article_parts.cache_info()
    CACHED.render({"conversation": conversation, "entries": entries[5:], "csrf_token": "a"})
    after = _article_parts.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (0, 0)


def test_every_response_carries_its_own_token_in_every_form(owner_client, variety):
    conversation, _ = variety
    url = reverse("conversation", args=[conversation.public_id])
    first, second = (owner_client.get(url).content.decode() for _ in range(2))
    tokens = [TOKEN.findall(page) for page in (first, second)]
    header = re.search(r'"X-CSRFToken": "([^"]+)"', first).group(1)
    assert len(tokens[0]) > 5 and set(tokens[0]) == {header}  # one token per response
    assert len(set(tokens[1])) == 1 and tokens[1][0] != tokens[0][0]  # masked afresh
    pane = owner_client.get(url, headers=HTMX).content.decode()
    assert set(TOKEN.findall(pane)) and not set(TOKEN.findall(pane)) & {header, tokens[1][0]}


def test_a_token_from_a_reused_article_is_accepted(owner, variety):
    """Without JavaScript the form posts its own hidden token: it must pass CSRF."""
    from django.test import Client

    conversation, entries = variety
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    url = reverse("conversation", args=[conversation.public_id])
    client.get(url)  # fills the cache
    page = client.get(url).content.decode()
    reply = entries[1][0]
    token = TOKEN.findall(page)[0]
    response = client.post(
        reverse("message-feedback", args=[reply.public_id]),
        {"rating": "down", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    reply.refresh_from_db()
    assert reply.feedback_rating == "down"


def test_a_share_page_sets_no_csrf_cookie(client, owner, variety):
    """Public pages show no form: filling articles must not touch the token."""
    from sharing.services import share_create

    conversation, _ = variety
    share = share_create(user=owner, conversation=conversation)
    client.get(f"/s/{share.token}/")
    response = client.get(f"/s/{share.token}/")
    assert response.status_code == 200
    assert "csrftoken" not in response.cookies
    assert "csrfmiddlewaretoken" not in response.content.decode()


def test_every_icon_an_article_draws_is_defined_once_on_the_page(owner_client, variety):
    """The actions' icons are drawn from one sprite a page (templates/_icons.html), not copied."""
    conversation, _ = variety
    url = reverse("conversation", args=[conversation.public_id])
    page = owner_client.get(url).content.decode()
    pane = owner_client.get(url, headers=HTMX).content.decode()
    drawn = set(re.findall(r'<use href="#(icon-[a-z-]+)"/>', page))
    assert {"icon-copy", "icon-edit", "icon-regenerate", "icon-good", "icon-continue"} <= drawn
    for name in drawn:
        assert page.count(f'<symbol id="{name}"') == 1, name
    # An HTMX pane lands in a page that has the sprite: it draws the icons, defines none.
    assert '<use href="#icon-copy"/>' in pane and "<symbol" not in pane
    articles = re.findall(r"<article.*?</article>", pane, re.S)
    assert len(articles) >= 4 and not any("<path" in article for article in articles)
