"""Finished messages keep their sanitized HTML: written once, read everywhere, never redone."""

import io
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from markdown_it import MarkdownIt

from conversations import rerender
from conversations.models import Message
from conversations.rendering import RENDER_VERSION, message_html, render_markdown
from conversations.services import (
    NewMessage,
    conversation_branch,
    message_append,
    message_chain_append,
)
from conversations.templatetags.chat import _article_parts
from organise.search import conversation_search
from organise.transfer.export import user_export_zip
from sharing.services import share_continue, share_create
from tests.factories import ConversationFactory, MessageFactory
from tests.ui.conftest import HTMX

pytestmark = pytest.mark.django_db

REPLY = "Try **Cervejaria Ramiro**.\n\n```python\nprint('nata')\n```\n\n<script>x()</script>"


@pytest.fixture
def chat(owner):
    conversation = ConversationFactory(owner=owner, title="Lisbon")
    message_append(conversation=conversation, role=Message.Role.USER, content="Where to *eat*?")
    message_append(
        conversation=conversation, role=Message.Role.ASSISTANT, content=REPLY, model="demo"
    )
    conversation.refresh_from_db()
    return conversation


@pytest.fixture
def no_markdown(monkeypatch):
    """Make any markdown conversion fail loudly."""

    def refuse(*args, **kwargs):
        raise AssertionError("markdown was converted on a read")

    # Nothing a test rendered before may answer from the cache instead.
    render_markdown.cache_clear()
    monkeypatch.setattr(MarkdownIt, "render", refuse)
    monkeypatch.setattr(MarkdownIt, "parse", refuse)


def test_a_written_message_stores_its_sanitized_html(chat):
    reply = chat.current_message
    assert reply.render_version == RENDER_VERSION
    assert reply.content_html == message_html(REPLY)
    assert "<strong>Cervejaria Ramiro</strong>" in reply.content_html
    assert '<pre class="highlight" data-lang="python">' in reply.content_html
    assert "<script" not in reply.content_html


def test_reads_of_finished_messages_convert_no_markdown(owner_client, owner, chat, no_markdown):
    share = share_create(user=owner, conversation=chat)
    pages = {
        "chat page": reverse("conversation", args=[chat.public_id]),
        "thread partial": reverse("conversation-messages", args=[chat.public_id]),
        "share page": reverse("share-view", args=[share.token]),
    }
    for name, address in pages.items():
        response = owner_client.get(address, headers=HTMX if "partial" in name else {})
        assert response.status_code == 200, name
        assert "<strong>Cervejaria Ramiro</strong>" in response.text, name
        assert "<script>x()" not in response.text, name
    exports = [
        reverse("conversation-export-json", args=[chat.public_id]),
        reverse("conversation-export-md", args=[chat.public_id]),
    ]
    for address in exports:
        assert REPLY.splitlines()[0] in owner_client.get(address).content.decode()
    archive = b"".join(user_export_zip(user=owner))
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        assert "Cervejaria Ramiro" in opened.read("conversations.json").decode()


def test_a_row_from_an_older_renderer_still_renders_on_read(owner_client, chat, monkeypatch):
    Message.objects.filter(pk=chat.current_message_id).update(render_version=0, content_html="")
    html = owner_client.get(reverse("conversation", args=[chat.public_id])).text
    assert "<strong>Cervejaria Ramiro</strong>" in html
    # The read-path guard really watches the renderer: the old row needs it.
    render_markdown.cache_clear()
    _article_parts.cache_clear()  # and the articles rendered with it
    monkeypatch.setattr(MarkdownIt, "render", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        owner_client.get(reverse("conversation", args=[chat.public_id]))


def test_copies_carry_the_html_without_rendering_again(owner, outsider, chat, monkeypatch):
    share = share_create(user=owner, conversation=chat)
    monkeypatch.setattr(MarkdownIt, "render", lambda *a, **k: 1 / 0)
    for copy in [
        conversation_branch(message=chat.current_message, user=owner),
        share_continue(share=share, user=outsider),
    ]:
        rows = list(copy.messages.order_by("pk"))
        assert [m.content_html for m in rows] == [
            m.content_html for m in chat.messages.order_by("pk")
        ]
        assert {m.render_version for m in rows} == {RENDER_VERSION}


def test_a_copy_of_an_old_row_is_rendered_when_written(owner, chat):
    Message.objects.filter(conversation=chat).update(render_version=0, content_html="")
    copy = conversation_branch(message=Message.objects.get(pk=chat.current_message_id), user=owner)
    reply = copy.messages.get(role=Message.Role.ASSISTANT)
    assert (reply.render_version, reply.content_html) == (RENDER_VERSION, message_html(REPLY))


def test_a_reply_still_streaming_stores_no_html(chat):
    with transaction.atomic():
        (reply,) = message_chain_append(
            conversation=chat,
            parent=chat.current_message_id,
            messages=[NewMessage(role=Message.Role.ASSISTANT, status=Message.Status.IN_PROGRESS)],
        )
    reply.refresh_from_db()
    assert (reply.content_html, reply.render_version) == ("", 0)


# --- rerender_messages ------------------------------------------------------------------------


def stale_rows(conversation, count: int) -> list[Message]:
    """Rows written as before stored HTML existed (the factory writes no HTML)."""
    return [
        MessageFactory(conversation=conversation, role=Message.Role.USER, content=f"**bold {n}**")
        for n in range(count)
    ]


def run(*args: str) -> str:
    out = StringIO()
    call_command("rerender_messages", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_rerender_dry_run_counts_and_changes_nothing(owner):
    conversation = ConversationFactory(owner=owner)
    rows = stale_rows(conversation, 5)
    assert "would re-render 5 messages" in run("--dry-run")
    assert "would re-render 2 messages" in run("--dry-run", "--after", str(rows[2].pk))
    assert not Message.objects.filter(render_version=RENDER_VERSION).exists()


def test_rerender_brings_every_finished_row_current_and_is_idempotent(owner):
    conversation = ConversationFactory(owner=owner)
    rows = stale_rows(conversation, 7)
    streaming = MessageFactory(
        conversation=conversation, role=Message.Role.ASSISTANT, status=Message.Status.IN_PROGRESS
    )
    output = run("--batch-size", "3")
    assert f"Re-rendered 7 messages to renderer version {RENDER_VERSION} in 3 batches" in output
    for row in rows:
        row.refresh_from_db()
        assert row.render_version == RENDER_VERSION
        assert row.content_html == message_html(row.content)
        assert "<strong>" in row.content_html
    streaming.refresh_from_db()
    assert streaming.render_version == 0
    assert "Re-rendered 0 messages" in run()


def test_rerender_resumes_after_an_id(owner):
    conversation = ConversationFactory(owner=owner)
    rows = stale_rows(conversation, 4)
    run("--after", str(rows[1].pk))
    versions = [Message.objects.get(pk=row.pk).render_version for row in rows]
    assert versions == [0, 0, RENDER_VERSION, RENDER_VERSION]


def test_rerender_queries_per_batch_are_fixed(owner):
    conversation = ConversationFactory(owner=owner)
    counts = {}
    for size in (4, 12):
        stale_rows(conversation, size)
        with CaptureQueriesContext(connection) as queries:
            report = rerender.messages_rerender(batch_size=4)
        # Per batch: SAVEPOINT, the SELECT of ids and text, one UPDATE, RELEASE; then the
        # empty SELECT that ends the walk inside its own SAVEPOINT/RELEASE.
        counts[size] = (report.batches, len(queries))
    assert counts == {4: (1, 4 + 3), 12: (3, 3 * 4 + 3)}


def test_rerender_keeps_search_indexing(owner):
    conversation = ConversationFactory(owner=owner, title="")
    MessageFactory(conversation=conversation, role=Message.Role.USER, content="walrus kettle")
    run()
    assert [r.conversation.pk for r in conversation_search(user=owner, query="walrus")] == [
        conversation.pk
    ]
    message_append(conversation=conversation, role=Message.Role.USER, content="garden socket")
    assert [r.conversation.pk for r in conversation_search(user=owner, query="socket")] == [
        conversation.pk
    ]


def test_search_triggers_survive_the_stored_html_migration():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")
            assert cursor.fetchone()[0] == 6
        else:
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'conversations_%_search'"
            )
            assert cursor.fetchone()[0] == 2
