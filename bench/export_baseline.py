"""The full export as it was before keyset batches: the baseline for bench and the output test.

A verbatim copy of organise.transfer.export's user_conversation_documents and user_export_zip
from before the change (two server-side cursors side by side; parent and current message
public ids by join), kept so a benchmark can time old against new in one run and a test can
check the new code writes exactly what this wrote.
"""

import json
import zipfile
from collections.abc import Iterator

from django.db.models import F

from conversations.models import Conversation, Message
from organise.transfer.export import (
    CHUNK_BYTES,
    _message_values,
    _project_dict,
    _Sink,
    conversation_document,
)
from projects.models import Project


def legacy_user_conversation_documents(*, user) -> Iterator[dict]:
    conversations = (
        Conversation.objects.filter(owner=user)
        .select_related("project")
        .annotate(current_public_id=F("current_message__public_id"))
        .order_by("pk")
        .iterator(chunk_size=200)
    )
    messages = _message_values(
        Message.objects.filter(conversation__owner=user).order_by("conversation_id", "pk")
    ).annotate(conversation_pk=F("conversation_id"))
    rows = messages.iterator(chunk_size=2_000)
    pending = next(rows, None)
    for conversation in conversations:
        batch = []
        while pending is not None and pending["conversation_pk"] <= conversation.pk:
            if pending["conversation_pk"] == conversation.pk:
                batch.append(pending)
            pending = next(rows, None)
        yield conversation_document(conversation, batch, conversation.current_public_id)


def legacy_user_export_zip(*, user) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        projects = [
            _project_dict(p) for p in Project.objects.filter(owner=user).order_by("pk").iterator()
        ]
        archive.writestr("projects.json", json.dumps(projects, ensure_ascii=False, indent=1))
        with archive.open("conversations.json", "w", force_zip64=True) as member:
            member.write(b"[")
            for index, document in enumerate(legacy_user_conversation_documents(user=user)):
                if index:
                    member.write(b",\n")
                member.write(json.dumps(document, ensure_ascii=False).encode())
                if sink.size >= CHUNK_BYTES:
                    yield sink.drain()
            member.write(b"]\n")
    yield sink.drain()
