"""Time the public share page at 10 and 1,000 messages, and the full export, old against new.

Run from the project root against a database of its own, filled first for the export part
(one user with --export-large conversations, another with --export-small):

    export SQLITE_PATH=/tmp/bench-reads.sqlite3
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py generate_bench_data --conversations 10000 --prefix exportbig
    .venv/bin/python manage.py generate_bench_data --conversations 1000 --prefix exportsmall
    .venv/bin/python -m bench.reads_share_export

Share page: a conversation of each size is written through the app's own writer
(message_chain_append, so each message stores its HTML once), shared, and its public page
requested --repeat times in-process with Django's test client; p50, p99 and the queries of
one request are printed. The page shows the first 50 messages and "Show more".

Export: `user_export_zip` (keyset batches) against `bench.export_baseline` (the code before
it), alternating, best of --rounds, in conversations a second; then the peak of Python
allocations (tracemalloc) of each for the small and the large user.
"""

import argparse
import os
import random
import statistics
import time
import tracemalloc


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000", help="Share page sizes (messages).")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2, help="Timed export runs of each path.")
    parser.add_argument("--export-large", default="exportbig1", help="User with many chats.")
    parser.add_argument("--export-small", default="exportsmall1", help="User with fewer chats.")
    parser.add_argument("--skip-share", action="store_true")
    parser.add_argument("--skip-export", action="store_true")
    return parser.parse_args()


def shared_conversation(owner, count: int):
    """Write a conversation of `count` generated messages the way the app does; share it."""
    from django.db import transaction

    from conversations.models import Conversation, Message
    from conversations.services import NewMessage, message_chain_append
    from organise.benchdata import TextMaker
    from sharing.services import share_create

    text = TextMaker(random.Random(count))
    messages = [
        NewMessage(role=Message.Role.USER, content=text.user_message())
        if i % 2 == 0
        else NewMessage(role=Message.Role.ASSISTANT, content=text.assistant_message(), model="m")
        for i in range(count)
    ]
    with transaction.atomic():
        conversation = Conversation(owner=owner, title=f"Shared {count}")
        # Parents by index: a chain of 1,000 linked instances overflows the stack when freed.
        message_chain_append(
            conversation=conversation,
            parent=None,
            messages=messages,
            parents=[None, *range(count - 1)],
        )
    return share_create(user=owner, conversation=conversation)


def time_page(client, url: str, repeat: int) -> tuple[float, float, int, int]:
    from django.db import connection

    client.get(url)
    queries = []
    with connection.execute_wrapper(lambda run, sql, *rest: queries.append(sql) or run(sql, *rest)):
        response = client.get(url)
    assert response.status_code == 200
    shown = response.text.count('<article id="message-')
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        client.get(url)
        samples.append((time.perf_counter() - began) * 1000)
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[98], len(queries), shown


def bench_share(args) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    owner = get_user_model().objects.create_user(f"share-bench-{time.time_ns()}")
    try:
        client = Client()
        results = {}
        print(f"Share page, {args.repeat} requests each (in-process):")
        for size in (int(s) for s in args.sizes.split(",")):
            share = shared_conversation(owner, size)
            url = reverse("share-view", args=[share.token])
            p50, p99, queries, shown = time_page(client, url, args.repeat)
            results[size] = p50
            print(
                f"  {size:>6,} messages: p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  "
                f"{queries} queries, {shown} shown"
            )
        sizes = sorted(results)
        print(
            f"  ratio {sizes[-1]:,} / {sizes[0]:,}: {results[sizes[-1]] / results[sizes[0]]:.2f}x"
        )
    finally:
        for conversation in owner.conversations.all():
            conversation.messages.unthread()
        owner.delete()


def drain(chunks) -> int:
    return sum(len(chunk) for chunk in chunks)


def members_digest(chunks) -> dict[str, str]:
    """Return the SHA-256 of each member of a zip, read back from its chunks."""
    import hashlib
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as archive:
        digests = {}
        for name in archive.namelist():
            digest = hashlib.sha256()
            with archive.open(name) as member:
                while block := member.read(1 << 20):
                    digest.update(block)
            digests[name] = digest.hexdigest()
    return digests


def bench_export(args) -> None:
    from django.contrib.auth import get_user_model

    from bench.export_baseline import legacy_user_export_zip
    from organise.transfer.export import user_export_zip

    users = get_user_model().objects
    large = users.get(username=args.export_large)
    small = users.get(username=args.export_small)
    paths = {"old": legacy_user_export_zip, "new": user_export_zip}
    count = large.conversations.count()
    messages = sum(c.message_count for c in large.conversations.only("message_count"))
    print(f"Export of {count:,} conversations ({messages:,} messages), best of {args.rounds}:")
    best = {name: float("inf") for name in paths}
    size = {}
    for _ in range(args.rounds):
        for name, export in paths.items():
            began = time.perf_counter()
            size[name] = drain(export(user=large))
            best[name] = min(best[name], time.perf_counter() - began)
    same = {name: members_digest(export(user=large)) for name, export in paths.items()}
    assert same["old"] == same["new"], "the new export wrote something else"
    for name in paths:
        print(
            f"  {name}: {best[name]:6.1f} s  {count / best[name]:7.0f} conv/s  "
            f"zip {size[name] / 1e6:.1f} MB"
        )
    print(f"  speed-up: {best['old'] / best['new']:.2f}x")
    print("  old and new zips hold byte-identical members")
    print("Peak Python allocations (tracemalloc):")
    for user in (small, large):
        total = user.conversations.count()
        for name, export in paths.items():
            tracemalloc.start()
            drain(export(user=user))
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"  {name}, {total:>6,} conversations: {peak / 1e6:6.1f} MB")


def main():
    args = parse_args()
    # DEBUG off, as in production: cached templates, no query log.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    settings.ALLOWED_HOSTS = ["testserver"]
    print(connection.vendor)
    if not args.skip_share:
        bench_share(args)
    if not args.skip_export:
        bench_export(args)


if __name__ == "__main__":
    main()
