"""Time /v1 item pages of a 10,000-message conversation, in-process, through the full view.

Run from the project root against a scratch database (it migrates it, adds one user and one
conversation, and deletes both at the end):

    SQLITE_PATH=/tmp/v1-bench.sqlite3 .venv/bin/python -m bench.v1_items
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python -m bench.v1_items

For each kind of page it prints p50 / p99 over --repeat requests made with Django's test
client (Bearer key, DRF, selector, JSON) and the queries one request runs; retrieving the
conversation itself is the floor (auth + one row) to compare against.
"""

import argparse
import os
import statistics
import time


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=200)
    return parser.parse_args()


def build_conversation(owner, count: int):
    """Insert a linear conversation of `count` messages with preassigned ids (few queries)."""
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.db.models import Max
    from django.utils import timezone

    from conversations.models import Conversation, Message

    with transaction.atomic():
        conversation = Conversation.objects.create(owner=owner, title="bench")
        start = (Message.objects.aggregate(top=Max("id"))["top"] or 0) + 1
        now = timezone.now()
        rows = [
            Message(
                pk=start + i,
                conversation=conversation,
                parent_id=start + i - 1 if i else None,
                role="user" if i % 2 == 0 else "assistant",
                content=f"message {i} " + "lorem ipsum " * 40,
                created_at=now,
                updated_at=now,
            )
            for i in range(count)
        ]
        Message.objects.bulk_create(rows, batch_size=1000)
        conversation.current_message_id = start + count - 1
        conversation.message_count = count
        conversation.save(update_fields=["current_message", "message_count"])
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Message]):
                cursor.execute(sql)
    return conversation, [row.public_id for row in rows]


def measure(client, url: str, headers: dict, repeat: int) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, secure=True, **headers)  # warm: the key's last_used_at write, caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, secure=True, **headers)
    assert response.status_code == 200, response.content
    query_count = len(queries)
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        client.get(url, secure=True, **headers)
        samples.append((time.perf_counter() - began) * 1000)
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[98], query_count


def main():
    args = parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from accounts.services import api_key_create

    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    owner = get_user_model().objects.create_user(f"v1-bench-{time.time_ns()}")
    conversation = None
    try:
        _, raw_key = api_key_create(user=owner)
        conversation, ids = build_conversation(owner, args.messages)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
        base = f"/v1/conversations/{conversation.public_id}/items?limit={args.limit}"
        cases = {
            "retrieve the conversation": f"/v1/conversations/{conversation.public_id}",
            "desc, newest page": base,
            "desc, after the middle item": f"{base}&after={ids[len(ids) // 2]}",
            "asc, first page": f"{base}&order=asc",
            "asc, last page": f"{base}&order=asc&after={ids[-args.limit - 1]}",
        }
        print(
            f"{args.messages:,} messages on one branch, limit={args.limit}, "
            f"{args.repeat} requests each, {settings.DATABASES['default']['ENGINE']}"
        )
        client = Client()
        for name, url in cases.items():
            p50, p99, queries = measure(client, url, headers, args.repeat)
            print(f"  {name:30} p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  {queries} queries")
    finally:
        if conversation is not None:
            # SQLite cascades a self-referencing foreign key with one trigger level per row
            # and stops at 1,000 levels, so unlink the chain before deleting it.
            conversation.messages.update(parent=None)
        owner.delete()


if __name__ == "__main__":
    main()
