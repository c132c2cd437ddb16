"""Time full-text search (organise.search.conversation_search) as the data grows.

Run from the project root against a database of its own (it adds benchmark data):

    SQLITE_PATH=/tmp/bench-search.sqlite3 .venv/bin/python -m bench.search
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_search .venv/bin/python -m bench.search

For each size in --sizes it tops the database up to that many messages with the bench data
generator (one user owns them all: the worst case, every match is theirs), then runs every
query of QUERIES --repeat times through the selector and prints p50 and p99 per query kind,
and at the end the ratio of each size's figures to the first size's.
"""

import argparse
import os
import statistics
import time

QUERIES = {
    # Words of the generator's small vocabulary: each matches a large share of all messages.
    "one common word": ["cache", "deploy", "garden", "socket", "budget", "travel", "recipe"],
    "two words": ["cache socket", "deploy budget", "garden recipe", "travel paper", "lock queue"],
    "phrase": ['"search index"', '"write test"', '"open file"', '"send message"'],
    "no match": ["xylophone", "quasar nebula"],
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="100000,1000000",
        help="Comma list of total message counts to measure at (default 100000,1000000).",
    )
    parser.add_argument("--repeat", type=int, default=20, help="Runs of each query per size.")
    parser.add_argument("--messages-per-conversation", type=int, default=20, help="Default 20.")
    return parser.parse_args(argv)


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def top_up(total: int, per_conversation: int) -> None:
    from conversations.models import Message
    from organise.benchdata import MessageRange, bench_data_generate

    have = Message.objects.count()
    missing = total - have
    if missing <= 0:
        return
    conversations = -(-missing // per_conversation)
    bench_data_generate(
        users=1,
        conversations=conversations,
        messages=MessageRange(per_conversation, per_conversation),
        seed=total,
        prefix="searchbench",
        progress=True,
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure(repeat: int) -> dict[str, tuple[float, float, float]]:
    """Return {kind: (p50 ms, p99 ms, mean results)} over every query of that kind."""
    from django.contrib.auth import get_user_model

    from organise.search import conversation_search

    user = get_user_model().objects.get(username="searchbench1")
    figures = {}
    for kind, queries in QUERIES.items():
        for query in queries:  # Warm the caches once.
            conversation_search(user=user, query=query)
        samples, counts = [], []
        for _ in range(repeat):
            for query in queries:
                started = time.perf_counter()
                results = conversation_search(user=user, query=query)
                samples.append((time.perf_counter() - started) * 1000)
                counts.append(len(results))
        cuts = statistics.quantiles(samples, n=100, method="inclusive")
        figures[kind] = (statistics.median(samples), cuts[98], statistics.mean(counts))
    return figures


def main(argv=None) -> None:
    args = parse_args(argv)
    setup_django()
    from django.db import connection

    from conversations.models import Message

    sizes = [int(s) for s in args.sizes.split(",")]
    results = {}
    for size in sizes:
        top_up(size, args.messages_per_conversation)
        actual = Message.objects.count()
        print(f"\n{connection.vendor}: {actual:,} messages (limit 20 results)")
        print(f"{'query':<18}{'p50 ms':>10}{'p99 ms':>10}{'results':>9}")
        results[size] = measure(args.repeat)
        for kind, (p50, p99, count) in results[size].items():
            print(f"{kind:<18}{p50:>10.1f}{p99:>10.1f}{count:>9.0f}")
    if len(sizes) > 1:
        first = sizes[0]
        for size in sizes[1:]:
            print(f"\nratio {size:,} / {first:,} messages")
            for kind in QUERIES:
                p50 = results[size][kind][0] / max(results[first][kind][0], 1e-9)
                p99 = results[size][kind][1] / max(results[first][kind][1], 1e-9)
                print(f"{kind:<18}p50 x{p50:.1f}  p99 x{p99:.1f}")


if __name__ == "__main__":
    main()
