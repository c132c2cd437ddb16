"""Bring stored message HTML up to the current renderer, in short keyset batches.

Rows written before their renderer's version (or before HTML was stored at all) render on
read until this catches them up; `manage.py rerender_messages` runs it.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from conversations.models import Message
from conversations.rendering import RENDER_VERSION, message_html

BATCH_SIZE = 500


@dataclass(frozen=True)
class RerenderReport:
    messages: int
    batches: int
    last_id: int


def messages_to_rerender(*, after: int = 0):
    """Return finished messages whose HTML is older than RENDER_VERSION, past id `after`.

    A reply still streaming is left alone: the engine renders it when it ends.
    """
    return (
        Message.objects.filter(pk__gt=after, render_version__lt=RENDER_VERSION)
        .exclude(status=Message.Status.IN_PROGRESS)
        .order_by("pk")
    )


def messages_rerender(
    *,
    after: int = 0,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int, int], None] | None = None,
) -> RerenderReport:
    """Render every stale message once, `batch_size` rows a transaction, in id order.

    Keyset on id (never an offset), so each batch costs the same however far it got; it is
    resumable from any id and idempotent (current rows are skipped). Queries per batch: the
    SELECT of ids and content, one UPDATE. `on_batch(count, last_id)` reports progress.
    """
    total = batches = 0
    last_id = after
    while True:
        with transaction.atomic():
            rows = list(messages_to_rerender(after=last_id).only("pk", "content")[:batch_size])
            if not rows:
                break
            for row in rows:
                row.content_html = message_html(row.content)
                row.render_version = RENDER_VERSION
            Message.objects.bulk_update(rows, ["content_html", "render_version"])
        last_id = rows[-1].pk
        total += len(rows)
        batches += 1
        if on_batch is not None:
            on_batch(len(rows), last_id)
    return RerenderReport(messages=total, batches=batches, last_id=last_id)
