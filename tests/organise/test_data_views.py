import io
import json
import zipfile
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conversations.models import Conversation
from tests.factories import ConversationFactory, MessageFactory, ProjectFactory

FIXTURE = Path(__file__).parent / "fixtures" / "chatgpt_conversations.json"


def _client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _branching(owner):
    conversation = ConversationFactory(owner=owner, title="Birds")
    question = MessageFactory(conversation=conversation, content="Which bird?")
    old = MessageFactory(
        conversation=conversation, parent=question, role="assistant", content="A heron."
    )
    new = MessageFactory(
        conversation=conversation, parent=question, role="assistant", content="A <b>puffin</b>."
    )
    conversation.current_message = new
    conversation.save()
    return conversation, question, old, new


def test_search_page_escapes_snippets_and_links_to_the_message(owner_client, owner, outsider):
    conversation, _question, _old, new = _branching(owner)
    MessageFactory(conversation=ConversationFactory(owner=outsider), content="puffin elsewhere")
    response = owner_client.get(reverse("search"), {"q": "puffin"})
    html = response.content.decode()
    assert "<mark>puffin</mark>" in html.lower()
    assert "&lt;b&gt;" in html
    assert "<b>" not in html.split("search-results", 1)[1]
    assert reverse("search-open", args=[new.public_id]) in html
    assert html.count('class="result"') == 1


def test_search_partial_and_filters(owner_client, owner):
    project = ProjectFactory(owner=owner)
    inside = ConversationFactory(owner=owner, project=project)
    MessageFactory(conversation=inside, content="heron spotted")
    MessageFactory(conversation=ConversationFactory(owner=owner), content="heron again")
    response = owner_client.get(
        reverse("search"),
        {"q": "heron", "project": project.public_id, "archived": "0", "from": "2000-01-01"},
        headers={"HX-Request": "true", "HX-Target": "search-results"},
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="search-results"')
    assert html.count('class="result"') == 1
    bad = owner_client.get(reverse("search"), {"q": "heron", "from": "yesterday"})
    assert "YYYY-MM-DD" in bad.content.decode()


def test_search_open_scrolls_to_a_message_on_the_active_branch(owner_client, owner):
    conversation, question, _old, _new = _branching(owner)
    response = owner_client.get(reverse("search-open", args=[question.public_id]))
    assert response["Location"] == (
        reverse("conversation", args=[conversation.public_id]) + f"#message-{question.public_id}"
    )


def test_search_open_switches_branch_only_when_asked(owner_client, owner, outsider):
    conversation, _question, old, new = _branching(owner)
    url = reverse("search-open", args=[old.public_id])
    assert _client_of(outsider).get(url).status_code == 404
    page = owner_client.get(url)
    assert "another branch" in page.content.decode()
    conversation.refresh_from_db()
    assert conversation.current_message_id == new.pk
    response = owner_client.post(url)
    assert response["Location"].endswith(f"#message-{old.public_id}")
    conversation.refresh_from_db()
    assert conversation.current_message_id == old.pk


def test_conversation_downloads_as_markdown_and_json(owner_client, outsider, owner):
    conversation, *_ = _branching(owner)
    markdown = owner_client.get(reverse("conversation-export-md", args=[conversation.public_id]))
    assert markdown["Content-Disposition"] == 'attachment; filename="birds.md"'
    assert "A <b>puffin</b>." in markdown.content.decode()
    assert "A heron." not in markdown.content.decode()
    document = owner_client.get(
        reverse("conversation-export-json", args=[conversation.public_id])
    ).json()
    assert {m["content"] for m in document["messages"]} == {
        "Which bird?",
        "A heron.",
        "A <b>puffin</b>.",
    }
    for name in ("conversation-export-md", "conversation-export-json"):
        response = _client_of(outsider).get(reverse(name, args=[conversation.public_id]))
        assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
async def test_data_export_streams_a_zip_of_everything(async_client, owner):
    await sync_to_async(_branching)(owner)
    await async_client.aforce_login(owner)
    response = await async_client.get(reverse("data-export"))
    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    body = b"".join([chunk async for chunk in response.streaming_content])
    archive = zipfile.ZipFile(io.BytesIO(body))
    [document] = json.loads(archive.read("conversations.json"))
    assert document["title"] == "Birds"


def test_data_settings_imports_an_upload_and_reports_broken_entries(owner_client, owner):
    page = owner_client.get(reverse("data-settings"))
    assert page.status_code == 200
    upload = SimpleUploadedFile("conversations.json", FIXTURE.read_bytes())
    response = owner_client.post(reverse("data-settings"), {"file": upload})
    html = response.content.decode()
    assert "Imported 2 conversations" in html
    assert "Broken one" in html
    assert Conversation.objects.filter(owner=owner).count() == 2
    garbage = SimpleUploadedFile("x.json", b"not json")
    response = owner_client.post(reverse("data-settings"), {"file": garbage})
    assert response.status_code == 400
    assert owner_client.post(reverse("data-settings"), {}).status_code == 400


def test_data_pages_need_login(client):
    for name in ("data-settings", "data-export", "search"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]
