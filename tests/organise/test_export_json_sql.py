"""The database writes each message's JSON in the full export: exactly what json.dumps writes.

The export asks SQLite (json_quote) or PostgreSQL (to_json, to_char) for the JSON text of
every message and reads chunks ahead on a thread (PostgreSQL) while deflate runs on another;
these tests hold it to the old path's bytes for awkward text and times, and check that an
export stopped part-way leaves no thread behind.
"""

import io
import json
import random
import threading
import zipfile
from datetime import UTC, datetime

import pytest
from django.db import connection

from bench.export_baseline import legacy_user_conversation_documents, legacy_user_export_zip
from conversations.models import Message
from organise.transfer import export
from organise.transfer.export import user_conversation_json, user_export_zip
from tests.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db

# Every ASCII character (PostgreSQL text cannot hold NUL), then a range of others: accents,
# CJK, an emoji, the separators JSON allows raw but JavaScript does not, a BOM, DEL.
AWKWARD = (
    "".join(chr(c) for c in range(1, 128))
    + ' "quoted" \\back\\slash\\ \\u0041 </script> é 日本語 😀 \u2028 \u2029 \ufeff \x7f'
)


def old_texts(owner) -> list[str]:
    return [
        json.dumps(document, ensure_ascii=False)
        for document in legacy_user_conversation_documents(user=owner)
    ]


def zip_members(chunks) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as archive:
        for info in archive.infolist():
            assert info.compress_type == zipfile.ZIP_DEFLATED
        return {name: archive.read(name) for name in archive.namelist()}


def test_every_character_is_escaped_as_json_dumps_escapes_it(owner, outsider):
    text = AWKWARD + ("\x00" if connection.vendor == "sqlite" else "")
    conversation = ConversationFactory(owner=owner, title=text, metadata={"k": text})
    first = MessageFactory(conversation=conversation, content=text, status_reason=text)
    MessageFactory(
        conversation=conversation,
        parent=first,
        role=Message.Role.ASSISTANT,
        content=text * 3,
        model='m"odel\\',
        feedback_rating="down",
        feedback_comment=text,
        feedback_at=datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC),
    )
    texts = list(user_conversation_json(user=owner))
    assert texts == old_texts(owner)
    [document] = [json.loads(t) for t in texts]
    assert [m["content"] for m in document["messages"]] == [text, text * 3]
    assert document["messages"][1]["parent_id"] == first.public_id


@pytest.mark.parametrize("microsecond", [0, 1, 5, 120_000, 999_999], ids=lambda us: f"{us}us")
def test_times_come_out_as_isoformat_writes_them(owner, microsecond):
    stamp = datetime(2026, 11, 21, 19, 0, 7, microsecond, tzinfo=UTC)
    conversation = ConversationFactory(owner=owner)
    leaf = MessageFactory(conversation=conversation, created_at=stamp, updated_at=stamp)
    MessageFactory(
        conversation=conversation,
        parent=leaf,
        created_at=stamp,
        updated_at=stamp,
        feedback_rating="up",
        feedback_at=stamp,
    )
    # A rating without a time: "updated_at": null inside the feedback.
    MessageFactory(conversation=conversation, parent=leaf, feedback_rating="up")
    conversation.current_message = leaf
    conversation.save(update_fields=["current_message"])
    texts = list(user_conversation_json(user=owner))
    assert texts == old_texts(owner)
    [document] = [json.loads(t) for t in texts]
    assert document["current_message_id"] == leaf.public_id
    assert document["messages"][0]["created_at"] == stamp.isoformat()
    assert document["messages"][2]["feedback"] == {
        "rating": "up",
        "comment": "",
        "updated_at": None,
    }


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite stores times as text")
def test_sqlite_times_not_in_djangos_form_are_read_as_the_orm_reads_them(owner):
    conversation = ConversationFactory(owner=owner)
    odd = MessageFactory(conversation=conversation, content="odd times")
    child = MessageFactory(conversation=conversation, parent=odd, content="odd child")
    plain = MessageFactory(conversation=conversation, parent=odd, content="plain")
    table = Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET created_at = %s, updated_at = %s, feedback_rating = 'up', "
            "feedback_at = %s WHERE id = %s",
            ["2026-01-02T03:04:05+02:00", "2026-01-02 03:04:05.5", "2026-01-02 03:04", odd.pk],
        )
        cursor.execute(
            f"UPDATE {table} SET updated_at = %s WHERE id = %s",
            ["2026-01-02 03:04:05.123", child.pk],
        )
    texts = list(user_conversation_json(user=owner))
    assert texts == old_texts(owner)
    messages = json.loads(texts[0])["messages"]
    assert messages[0]["created_at"] == "2026-01-02T03:04:05+02:00"
    assert messages[0]["updated_at"] == "2026-01-02T03:04:05.500000+00:00"
    assert messages[1]["parent_id"] == odd.public_id
    assert messages[2]["content"] == plain.content


def many_conversations(owner, outsider, count: int = 9) -> None:
    """Conversations of 1 to 4 messages, each with 20 kB that deflate cannot shrink much."""
    noise = random.Random(12)
    for n in range(count):
        conversation = ConversationFactory(owner=owner, title=f"Chat {n}")
        MessageFactory(conversation=ConversationFactory(owner=outsider))
        leaf = None
        for m in range(n % 4 + 1):
            leaf = MessageFactory(
                conversation=conversation,
                parent=leaf,
                content=f"{n}.{m} é {noise.randbytes(10_000).hex()}",
            )
        conversation.current_message = leaf
        conversation.save(update_fields=["current_message"])


def export_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("export-")]


def test_small_pieces_and_chunks_write_the_same_zip(owner, outsider, monkeypatch):
    """Many deflate pieces and fetched chunks (each conversation split across chunks)."""
    many_conversations(owner, outsider)
    monkeypatch.setattr(export, "CHUNK_BYTES", 200)
    monkeypatch.setattr(export, "MESSAGE_CHUNK_SIZE", 2)
    chunks = list(user_export_zip(user=owner, batch_size=4))
    assert len(chunks) > 3
    assert zip_members(chunks) == zip_members(legacy_user_export_zip(user=owner))
    assert export_threads() == []


def test_an_export_stopped_part_way_leaves_no_thread_and_the_connection_usable(
    owner, outsider, monkeypatch
):
    """A download broken off: the generator is closed while a fetch and a deflate may run."""
    many_conversations(owner, outsider)
    monkeypatch.setattr(export, "CHUNK_BYTES", 200)
    monkeypatch.setattr(export, "MESSAGE_CHUNK_SIZE", 2)
    chunks = user_export_zip(user=owner, batch_size=4)
    assert next(chunks)
    assert next(chunks)
    assert export_threads()
    chunks.close()
    assert export_threads() == []
    assert (
        Message.objects.filter(conversation__owner=owner).count()
        == 1 + 2 + 3 + 4 + 1 + 2 + 3 + 4 + 1
    )
    # And a whole export still runs on the same connection.
    assert zip_members(user_export_zip(user=owner)) == zip_members(
        legacy_user_export_zip(user=owner)
    )
