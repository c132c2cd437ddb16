"""The full export walks conversations in keyset batches and writes what it always wrote."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.export_baseline import legacy_user_conversation_documents, legacy_user_export_zip
from conversations.models import Conversation, Message
from organise.transfer.export import user_conversation_json, user_export_zip
from tests.factories import ConversationFactory, MessageFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def world(owner, outsider) -> list[Conversation]:
    """The owner's conversations of every shape, interleaved with someone else's."""
    project = ProjectFactory(owner=owner, title="Zoo", instructions="Be brief.")
    start = timezone.now() - timedelta(days=3)
    mine = []
    for n in range(7):
        conversation = ConversationFactory(
            owner=owner,
            title=f"Chat {n} – café 日本語" if n % 3 else "",
            project=project if n % 2 else None,
            pinned_at=start if n == 2 else None,
            archived_at=start if n == 3 else None,
            metadata={"n": str(n)} if n == 4 else {},
        )
        MessageFactory(conversation=ConversationFactory(owner=outsider), content="not mine")
        leaf = None
        for m in range(n % 4 * 2):
            leaf = MessageFactory(
                conversation=conversation,
                parent=leaf,
                role=Message.Role.USER if m % 2 == 0 else Message.Role.ASSISTANT,
                content=f"message {m} of {n}: **bold** & <b>raw</b>",
                model="demo" if m % 2 else "",
                status=Message.Status.STOPPED if m == 3 else Message.Status.COMPLETED,
                input_tokens=m * 10,
                output_tokens=m,
                created_at=start + timedelta(minutes=m),
                # Rated replies: the feedback rides along in the document.
                feedback_rating="up" if m == 1 else "",
                feedback_comment="Spot on" if m == 1 and n % 2 else "",
                feedback_at=start if m == 1 else None,
            )
        if leaf is not None and n == 5:
            # A branch: a second reply to the last question, left inactive.
            MessageFactory(conversation=conversation, parent=leaf.parent, content="other")
        conversation.current_message = leaf
        conversation.save(update_fields=["current_message"])
        mine.append(conversation)
    return mine


@pytest.mark.parametrize("batch_size", [1, 2, 500])
def test_documents_are_exactly_what_the_old_export_wrote(owner, outsider, batch_size):
    world(owner, outsider)
    texts = list(user_conversation_json(user=owner, batch_size=batch_size))
    old = legacy_user_conversation_documents(user=owner)
    assert texts == [json.dumps(document, ensure_ascii=False) for document in old]
    new = [json.loads(text) for text in texts]
    assert [len(d["messages"]) for d in new] == [0, 2, 4, 6, 0, 2 + 1, 4]
    rated = [m["feedback"] for d in new for m in d["messages"] if m["feedback"]]
    assert rated and {f["rating"] for f in rated} == {"up"}


def test_the_zip_holds_the_same_bytes_as_before(owner, outsider):
    world(owner, outsider)
    members = {}
    for name, chunks in [
        ("new", user_export_zip(user=owner, batch_size=3)),
        ("old", legacy_user_export_zip(user=owner)),
    ]:
        with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as archive:
            members[name] = {member: archive.read(member) for member in archive.namelist()}
    assert members["new"] == members["old"]
    assert set(members["new"]) == {"projects.json", "conversations.json"}


def test_queries_per_batch_are_fixed(owner, outsider):
    world(owner, outsider)
    counts = {}
    for batch_size in (2, 7):
        with CaptureQueriesContext(connection) as queries:
            documents = list(user_conversation_json(user=owner, batch_size=batch_size))
        assert len(documents) == 7
        counts[batch_size] = len(queries)
    # Per batch: the conversations (with projects), their messages; then the empty batch.
    assert counts == {2: 4 * 2 + 1, 7: 1 * 2 + 1}
