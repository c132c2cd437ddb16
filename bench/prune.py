"""Prune the oldest share of conversations while a thread keeps loading the sidebar.

Run from the project root against a database filled by `manage.py generate_bench_data`
(it deletes data: use a bench database):

    SQLITE_PATH=/tmp/bench.sqlite3 .venv/bin/python -m bench.prune --fraction 0.2

It picks the cut-off that makes `--fraction` of all conversations older, measures the
sidebar (`conversation_list_for_sidebar`, first page, for the user with the most
conversations) at rest, then prunes with the same service `prune_conversations` uses
(batches of 1,000, one short transaction each) while the sidebar thread keeps querying, and
prints rows per second, the longest transaction, peak memory and the sidebar's p50/p99.
The sidebar runs in a separate process, as a web worker would.
"""

import argparse
import multiprocessing
import os
import resource
import statistics
import time
import tracemalloc


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=0.2, help="Share to prune (0.2).")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=300, help="Sidebar calls at rest.")
    parser.add_argument(
        "--no-tracemalloc",
        action="store_true",
        help="Skip tracing Python allocations (faster; peak RSS is still reported).",
    )
    return parser.parse_args(argv)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[98], max(samples)


def sidebar_loop(user_id: int, calls: int | None, stop, results) -> None:
    """Call the sidebar selector in a loop (in its own process) and send back the timings."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from conversations.selectors import conversation_list_for_sidebar

    user = get_user_model().objects.get(pk=user_id)
    samples = []
    while not stop.is_set() and (calls is None or len(samples) < calls):
        started = time.perf_counter()
        page = conversation_list_for_sidebar(user=user, limit=50)
        samples.append(time.perf_counter() - started)
        assert page.items
    results.put(samples)


class Sidebar:
    """A separate process loading the sidebar, as a web worker would while the prune runs."""

    def __init__(self, user_id: int, calls: int | None = None):
        context = multiprocessing.get_context("spawn")
        self.stop, self.results = context.Event(), context.Queue()
        self.process = context.Process(
            target=sidebar_loop, args=(user_id, calls, self.stop, self.results)
        )
        self.process.start()

    def samples(self) -> list[float]:
        self.stop.set()
        samples = self.results.get()
        self.process.join()
        return samples


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import Count

    from conversations import retention
    from conversations.models import Conversation, Message

    total = Conversation.objects.count()
    messages_before = Message.objects.count()
    if total < 100:
        raise SystemExit("Too little data. Run manage.py generate_bench_data first.")
    target = int(total * args.fraction)
    cutoff = (
        Conversation.objects.order_by("updated_at", "id")
        .values_list("updated_at", flat=True)[target : target + 1]
        .get()
    )
    queryset = Conversation.objects.filter(updated_at__lt=cutoff)
    user = (
        get_user_model()
        .objects.annotate(n=Count("conversations"))
        .order_by("-n")
        .only("id", "username")
        .first()
    )
    print(
        f"{connection.vendor}: {total:,} conversations, {messages_before:,} messages; pruning "
        f"those updated before {cutoff:%Y-%m-%d %H:%M} (~{args.fraction:.0%}); sidebar user "
        f"{user.username} ({user.n:,} conversations)."
    )

    at_rest = Sidebar(user.pk, calls=args.baseline)
    rest_samples = at_rest.results.get()
    at_rest.process.join()

    batch_ends: list[float] = []
    during = Sidebar(user.pk)
    time.sleep(3)  # let the process start Django before the prune begins
    if not args.no_tracemalloc:
        tracemalloc.start()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    report = retention.conversations_delete_in_batches(
        queryset,
        batch_size=args.batch_size,
        on_batch=lambda n: batch_ends.append(time.perf_counter()),
    )
    elapsed = time.perf_counter() - started
    during_samples = during.samples()
    traced_peak = tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else None
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    remaining = Conversation.objects.count()
    messages_after = Message.objects.count()
    rows = report.conversations + report.messages
    rest50, rest99, rest_max = percentiles(rest_samples)
    run50, run99, run_max = percentiles(during_samples)
    print(
        f"Deleted {report.conversations:,} conversations and {report.messages:,} messages "
        f"(checked: {total - remaining:,} and {messages_before - messages_after:,}) "
        f"in {elapsed:.1f} s, {report.batches} batches."
    )
    print(
        f"Rows per second: {rows / elapsed:,.0f} ({report.conversations / elapsed:,.0f} "
        f"conversations/s, {report.messages / elapsed:,.0f} messages/s)."
    )
    walls = [end - start for start, end in zip([started, *batch_ends], batch_ends, strict=False)]
    print(
        f"Longest transaction (one batch): {ms(report.longest_batch_seconds)}; "
        f"median batch, finding it included: {ms(statistics.median(walls))}."
    )
    memory = f"Peak RSS {rss_after / 1024:.0f} MB (before the prune {rss_before / 1024:.0f} MB)"
    if traced_peak is not None:
        memory += f"; peak Python allocations during the prune {traced_peak / 2**20:.1f} MB"
    print(memory + ".")
    print(
        f"Sidebar at rest:      p50 {ms(rest50)}, p99 {ms(rest99)}, max {ms(rest_max)} "
        f"({len(rest_samples)} calls)."
    )
    print(
        f"Sidebar during prune: p50 {ms(run50)}, p99 {ms(run99)}, max {ms(run_max)} "
        f"({len(during_samples)} calls)."
    )


if __name__ == "__main__":
    main()
