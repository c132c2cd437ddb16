import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from conversations.models import Conversation, Message
from conversations.selectors import message_path
from organise.transfer.export import (
    conversation_export_json,
    conversation_export_markdown,
    user_export_zip,
)
from organise.transfer.importer import ImportFileError, import_file
from tests.factories import ConversationFactory, MessageFactory, ProjectFactory

FIXTURE = Path(__file__).parent / "fixtures" / "chatgpt_conversations.json"


def _zip_of(path: Path, member: str = "conversations.json") -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("chat.html", "<html></html>")
        archive.write(path, member)
    buffer.seek(0)
    return buffer


def _active_branch(conversation):
    return message_path(
        conversation=conversation, leaf_id=conversation.current_message_id, limit=100
    )


def test_chatgpt_import_keeps_tree_titles_times_and_archived_state(owner):
    with FIXTURE.open("rb") as file:
        report = import_file(user=owner, file=file)

    assert report.imported == 2
    assert [(f.label, "mapping" in f.reason) for f in report.failed] == [
        ("Broken one", True),
        ("chatgpt-conv-4", False),
    ]
    tree = Conversation.objects.get(owner=owner, metadata__chatgpt_id="chatgpt-conv-1")
    assert tree.title == "Branching 🌳 <b>tree</b> & more"
    assert tree.created_at == datetime.fromtimestamp(1700000000.25, tz=UTC)
    assert tree.updated_at == datetime.fromtimestamp(1700000900.5, tz=UTC)
    assert tree.archived_at is None
    # Hidden system prompt and custom-instructions context are not imported.
    assert tree.message_count == 5
    assert not tree.messages.filter(role=Message.Role.SYSTEM).exists()
    by_node = {m.call_id: m for m in tree.messages.all()}
    assert set(by_node) == {"n-u1", "n-a1", "n-a2", "n-u2", "n-a3"}
    assert by_node["n-u1"].parent_id is None
    # Both branches under the first question survive; current_node picks the active one.
    assert by_node["n-a1"].parent_id == by_node["n-u1"].pk
    assert by_node["n-a2"].parent_id == by_node["n-u1"].pk
    assert [m.call_id for m in _active_branch(tree)] == ["n-u1", "n-a2", "n-u2", "n-a3"]
    assert by_node["n-u1"].content == "Hello <script>alert('x')</script> — ünïcödé 日本語 😀"
    assert by_node["n-a3"].model == "gpt-4o-mini"
    assert tree.preview == "Walruses have tusks."


def test_chatgpt_import_makes_tools_code_and_images_readable(owner):
    with FIXTURE.open("rb") as file:
        import_file(user=owner, file=file)
    tools = Conversation.objects.get(owner=owner, metadata__chatgpt_id="chatgpt-conv-2")
    assert tools.archived_at is not None
    branch = _active_branch(tools)
    # The current node is hidden: the nearest visible ancestor becomes the active leaf.
    assert [m.call_id for m in branch] == ["t-u1", "t-code", "t-out", "t-browse", "t-a1"]
    contents = {m.call_id: m.content for m in branch}
    assert contents["t-u1"] == "[image]\n\nWhat is in this picture?"
    assert contents["t-code"] == "````python\nprint(sum([1, 2, 3]))\n# ``` inside\n````"
    assert contents["t-out"] == "```\n6\n```"
    assert contents["t-browse"] == "Search results: kittens are small cats."
    assert {m.call_id: m.role for m in branch}["t-out"] == Message.Role.TOOL


def test_importing_the_same_export_twice_creates_no_duplicates(owner, outsider):
    with FIXTURE.open("rb") as file:
        import_file(user=owner, file=file)
    with FIXTURE.open("rb") as file:
        again = import_file(user=owner, file=file)
    assert (again.imported, again.duplicates) == (0, 2)
    assert Conversation.objects.filter(owner=owner).count() == 2
    # Another user importing the same file gets their own copies.
    with FIXTURE.open("rb") as file:
        assert import_file(user=outsider, file=file).imported == 2


def test_chatgpt_zip_export_imports_like_its_json(owner):
    report = import_file(user=owner, file=_zip_of(FIXTURE))
    assert report.imported == 2
    assert report.summary.startswith("Imported 2 conversations (10 messages)")


def test_import_of_a_truncated_file_keeps_what_came_before(owner):
    data = FIXTURE.read_bytes()
    cut = data.index(b'"title": "Code, tools and images"') + 40
    report = import_file(user=owner, file=io.BytesIO(data[:cut]))
    assert report.imported == 1
    assert "valid JSON" in report.error


def test_import_rejects_files_that_are_not_conversation_lists(owner):
    with pytest.raises(ImportFileError):
        import_file(user=owner, file=io.BytesIO(b"hello"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("other.json", "[]")
    with pytest.raises(ImportFileError, match="conversations.json"):
        import_file(user=owner, file=buffer)


def _conversation_with_branches(owner):
    project = ProjectFactory(owner=owner, title="Zoo")
    conversation = ConversationFactory(owner=owner, title="Animals", project=project)
    question = MessageFactory(conversation=conversation, content="Which animal?")
    MessageFactory(conversation=conversation, parent=question, role="assistant", content="A cat.")
    second = MessageFactory(
        conversation=conversation,
        parent=question,
        role="assistant",
        content="A dog, with `code` & <b>markup</b>.",
        model="demo",
    )
    conversation.current_message = second
    conversation.message_count = 3
    conversation.save()
    return conversation


def test_json_export_carries_every_branch_in_the_documented_format(owner):
    conversation = _conversation_with_branches(owner)
    document = conversation_export_json(conversation=conversation)
    assert document["format"] == "chatbot.conversation"
    assert document["version"] == 1
    assert document["id"] == conversation.public_id
    assert document["project"]["title"] == "Zoo"
    assert len(document["messages"]) == 3
    root, *answers = document["messages"]
    assert root["parent_id"] is None
    assert {a["parent_id"] for a in answers} == {root["id"]}
    assert document["current_message_id"] == answers[1]["id"]
    json.dumps(document)


def test_markdown_export_shows_the_active_branch(owner):
    conversation = _conversation_with_branches(owner)
    text = conversation_export_markdown(conversation=conversation)
    assert text.startswith("# Animals\n")
    assert "## User\n\nWhich animal?" in text
    assert "## Assistant (demo)\n\nA dog, with `code` & <b>markup</b>." in text
    assert "A cat." not in text


def test_our_export_round_trips_into_another_account(owner, outsider):
    conversation = _conversation_with_branches(owner)
    archive = io.BytesIO(b"".join(user_export_zip(user=owner)))
    with zipfile.ZipFile(archive) as opened:
        assert set(opened.namelist()) == {"projects.json", "conversations.json"}
        assert json.loads(opened.read("projects.json"))[0]["title"] == "Zoo"
    archive.seek(0)
    report = import_file(user=outsider, file=archive)
    assert (report.imported, report.failed) == (1, [])
    copy = Conversation.objects.get(owner=outsider)
    original = conversation_export_json(conversation=conversation)
    imported = conversation_export_json(conversation=copy)
    assert imported["title"] == original["title"]
    assert imported["created_at"] == original["created_at"]
    assert [(m["role"], m["content"]) for m in imported["messages"]] == [
        (m["role"], m["content"]) for m in original["messages"]
    ]
    assert copy.project.title == "Zoo"
    assert copy.project.owner == outsider
    assert [m.content for m in _active_branch(copy)] == [
        "Which animal?",
        "A dog, with `code` & <b>markup</b>.",
    ]
    # Importing it again, or into the account it came from, adds nothing.
    archive.seek(0)
    assert import_file(user=outsider, file=archive).duplicates == 1
    archive.seek(0)
    assert import_file(user=owner, file=archive).duplicates == 1


def test_export_of_many_conversations_streams_each_with_its_own_messages(owner, outsider):
    conversations = []
    for i in range(5):
        conversation = ConversationFactory(owner=owner, title=f"C{i}")
        for j in range(i):
            MessageFactory(conversation=conversation, content=f"c{i} m{j}")
        conversations.append(conversation)
    MessageFactory(conversation=ConversationFactory(owner=outsider), content="not mine")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(user_export_zip(user=owner))))
    documents = json.loads(archive.read("conversations.json"))
    assert [d["title"] for d in documents] == [f"C{i}" for i in range(5)]
    for i, document in enumerate(documents):
        assert [m["content"] for m in document["messages"]] == [f"c{i} m{j}" for j in range(i)]


def test_export_and_import_commands(owner, outsider, tmp_path):
    _conversation_with_branches(owner)
    output = tmp_path / "export.zip"
    out = io.StringIO()
    call_command(
        "export_conversations", "alice", "--output", str(output), stdout=out, stderr=io.StringIO()
    )
    assert "Exported 1 conversations" in out.getvalue()
    out = io.StringIO()
    call_command("import_chatgpt", "mallory", str(output), stdout=out, stderr=io.StringIO())
    assert "Imported 1 conversation (3 messages)" in out.getvalue()
    err = io.StringIO()
    call_command("import_chatgpt", "mallory", str(FIXTURE), stdout=out, stderr=err)
    assert "Skipped 'Broken one'" in err.getvalue()
    with pytest.raises(CommandError, match="No user"):
        call_command("import_chatgpt", "nobody", str(FIXTURE))
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_chatgpt", "alice", str(tmp_path / "missing.json"))


def test_a_single_downloaded_conversation_imports(owner, outsider):
    conversation = _conversation_with_branches(owner)
    body = json.dumps(conversation_export_json(conversation=conversation), indent=2)
    report = import_file(user=outsider, file=io.BytesIO(body.encode()))
    assert (report.imported, report.messages) == (1, 3)


def test_import_writes_a_conversation_in_a_fixed_number_of_queries(
    owner, django_assert_num_queries
):
    from organise.transfer.chatgpt import chatgpt_conversation
    from organise.transfer.importer import conversation_import

    raw = json.loads(FIXTURE.read_text())[0]
    imported = chatgpt_conversation(raw)
    # Savepoint, reserve message ids, insert conversation, insert messages, release.
    with django_assert_num_queries(5):
        conversation = conversation_import(user=owner, imported=imported)
    assert conversation.messages.count() == 5
