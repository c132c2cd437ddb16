"""The read paths at a million messages, on PostgreSQL and SQLite in one run.

    .venv/bin/python -m bench.reads                  # both databases, full scale
    .venv/bin/python -m bench.reads --scale 0.1      # a tenth of the data
    .venv/bin/python -m bench.reads --backends sqlite
    .venv/bin/python -m bench.reads --backends sqlite --existing   # re-measure, no fill

Each backend runs in a child process on a fresh database of its own (SQLite
``var/bench-reads.sqlite3``, PostgreSQL database ``readsb`` on ``PG_URL``), filled with
``generate_bench_data`` in two phases:

1. ``readsten1`` with 10,000 conversations of 10 messages (100,000 messages), and
   ``readslong1`` with threads of 10,000, 60 and 10 messages (a page shows 50). The
   database is then copied as it stands, before anyone else has data (the "alone" copy:
   SQLite ``var/bench-reads-alone.sqlite3``, PostgreSQL ``readsalone``, made from
   ``readsb`` as a template).
2. ``readsbig1`` with 100,000 conversations of 10 messages (1,000,000 messages). Then
   everything is timed: the sidebar (JSON, HTMX partial, full page; the 10k- against the
   100k-conversation user), the chat pane and page (10,000- against 10-message thread),
   search of each kind (100k against 1M own messages; the 10k-conversation user in the
   alone copy and beside the other user's 1M), and the admin changelists (filtered,
   searched by id, a deep page).

Every user's text comes from one pool of sentences (TEXT_SEED), so the 100k-message user
writes a tenth of the same kind of text as the 1M-message one: a phrase occurs about ten
times as often in the larger history. Until 2026-12-07 each user's pool came from its own
seed, and "search index" matched 1,345 messages of the one against 6 of the other.

Requests go through Django's test client in process (``bench.settings``: DEBUG off, the
project's middleware), timed without query capture; query counts come from one more
request under CaptureQueriesContext. The rows a target compares take turns: the sidebar's
four and the chat's six request by request; the searches (the 10k-conversation user in the
alone copy and in the full database, the 100k-conversation user) five calls at a time.
Until 2026-12-07 the alone search was timed right after the first phase's fill, half an
hour before the rest, and the 100k user's after the 10k user's, so a shared machine's drift
between those moments weighed on the ratios (bench/README.md, "The alone copy"). Prints
one table per backend and the ratios against the targets of issue 12.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/readsb")
SQLITE_PATH = ROOT / "var" / "bench-reads.sqlite3"
ALONE_PATH = ROOT / "var" / "bench-reads-alone.sqlite3"
HTMX = {"HTTP_HX_REQUEST": "true"}

SEARCHES = {
    "common word": ["cache", "deploy", "garden", "socket"],
    "two words": ["cache socket", "deploy budget", "garden recipe"],
    "phrase": ['"search index"', '"write test"', '"open file"'],
    "or / not": ["redis OR socket", "cache -deploy"],
    "no match": ["xylophone"],
}
# The sentence pool's seed, the same for every bench user; its 4,000 sentences hold each of
# the phrases above once, so each phrase matches about one message in a thousand.
TEXT_SEED = 40


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--scale", type=float, default=1.0, help="Fraction of the data (1.0).")
    parser.add_argument("--requests", type=int, default=30, help="Timed requests each (30).")
    parser.add_argument(
        "--existing",
        action="store_true",
        help="Measure the data an earlier run left (migrated first; an alone copy that is "
        "missing is filled as the first phase fills).",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--fill-alone", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- Parent: one child per backend ------------------------------------------------------


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.child:
        child(args)
        return
    for backend in args.backends.split(","):
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_PATH")}
        env["DJANGO_SETTINGS_MODULE"] = "bench.settings"
        env["ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
        fill_alone = False
        if backend == "postgresql":
            env["DATABASE_URL"] = PG_URL
            env["BENCH_ALONE_NAME"] = _alone_name()
            if not args.existing:
                _fresh_postgres(PG_URL.rsplit("/", 1)[1], _alone_name())
            else:
                fill_alone = _create_postgres_if_missing(_alone_name())
        else:
            SQLITE_PATH.parent.mkdir(exist_ok=True)
            for path in (SQLITE_PATH, ALONE_PATH) if not args.existing else ():
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            fill_alone = args.existing and not ALONE_PATH.exists()
            env["SQLITE_PATH"] = str(SQLITE_PATH)
            env["BENCH_ALONE_NAME"] = str(ALONE_PATH)
        command = [sys.executable, "-m", "bench.reads", "--child", backend]
        command += ["--scale", str(args.scale), "--requests", str(args.requests)]
        command += ["--existing"] if args.existing else []
        command += ["--fill-alone"] if fill_alone else []
        subprocess.run(command, env=env, cwd=ROOT, check=True)


def _alone_name() -> str:
    return PG_URL.rsplit("/", 1)[1] + "alone"


def _postgres_server():
    import psycopg

    return psycopg.connect(PG_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True)


def _fresh_postgres(*names: str) -> None:
    if "test" in names:
        raise SystemExit("Give the benchmark a database of its own, never 'test'.")
    with _postgres_server() as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{names[0]}"')


def _create_postgres_if_missing(name: str) -> bool:
    with _postgres_server() as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        conn.execute(f'CREATE DATABASE "{name}"')
    return True


# --- Child: fill, measure, print --------------------------------------------------------


def child(args) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    if args.existing and not args.fill_alone:
        call_command("migrate", database="alone", verbosity=0)
    big = max(1, round(100_000 * args.scale))
    ten = max(1, round(10_000 * args.scale))
    rows: list[tuple] = []
    started = time.perf_counter()
    if not args.existing:
        _phase_one(ten)
        _settle()
        _keep_alone()
    elif args.fill_alone:
        # The alone copy an earlier run did not leave: the first phase again, into it.
        with _database("alone"):
            call_command("migrate", database="alone", verbosity=0)
            _phase_one(ten)
            _settle()
    phase_one = time.perf_counter() - started
    started = time.perf_counter()
    if not args.existing:
        _generate("readsbig", big, 10)
    phase_two = time.perf_counter() - started
    if not args.existing:
        _settle()
    from conversations.models import Message

    total = Message.objects.count()
    print(
        f"\n## {connection.vendor}: {total:,} messages; readsbig1 {big:,} conversations, "
        f"readsten1 {ten:,}; generated in {phase_one:.0f}s + {phase_two:.0f}s\n"
    )
    rows += _sidebar_rows(args.requests, big=big, ten=ten)
    rows += _chat_rows(args.requests)
    searches = _search_in_turns(args.requests)
    for kind in SEARCHES:
        rows.append((f"search {kind}: 100k own, alone", *searches["alone"][kind]))
        rows.append((f"search {kind}: 100k own, others' 1M", *searches["others"][kind]))
        rows.append((f"search {kind}: 1M own", *searches["big"][kind]))
    rows += _admin_rows(args.requests)
    print("| what | p50 ms | p99 ms | queries | bytes |")
    print("|---|---:|---:|---:|---:|")
    for name, p50, p99, queries, size in rows:
        print(f"| {name} | {p50:.1f} | {p99:.1f} | {queries} | {size:,} |")
    figures = {name: (p50, queries) for name, p50, _p99, queries, _size in rows}
    _targets(figures)
    if connection.vendor == "postgresql":
        _explain_pinned()
    print(json.dumps({"vendor": connection.vendor, "figures": figures}))


def _phase_one(ten: int) -> None:
    _generate("readsten", ten, 10)
    _generate("readslong", 1, 10_000)
    _generate("readslong", 1, 10)
    _generate("readslong", 1, 60)


@contextmanager
def _database(alias: str):
    """Run the block's queries on database `alias`, as the default connection.

    The search selects through `django.db.connection`; swapping the handler's default keeps
    both databases' connections open and warm, so turns between them cost no reconnect.
    """
    from django.db import connections

    default = connections["default"]
    connections["default"] = connections[alias]
    try:
        yield
    finally:
        connections["default"] = default


def _keep_alone() -> None:
    """Copy the database as the first phase left it: the "alone" rows search the copy."""
    from django.conf import settings
    from django.db import connections

    connection = connections["default"]
    alone = settings.DATABASES["alone"]["NAME"]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        shutil.copyfile(connection.settings_dict["NAME"], alone)
        return
    # A template must have no other session: close this process's connections and pool.
    connections.close_all()
    connection.close_pool()
    with _postgres_server() as server:
        server.execute(f'CREATE DATABASE "{alone}" TEMPLATE "{connection.settings_dict["NAME"]}"')


def _settle() -> None:
    """Measure each phase's data as a server that has caught up would hold it.

    PostgreSQL: VACUUM ANALYZE, what autovacuum does in its own time after a bulk load (the
    visibility map, so index-only scans skip the heap, and fresh statistics). Without it the
    search of the first phase read a freshly written, unvacuumed table and the second phase
    a vacuumed one, so the "alone" row compared a cold table with a warm one. SQLite's
    statistics are already fresh: generate_bench_data runs PRAGMA optimize.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def _generate(prefix: str, conversations: int, messages: int) -> None:
    """Add benchmark data (token counts trimmed to the context budget, as the app stores)."""
    from organise import benchdata

    benchdata.bench_data_generate(
        users=1,
        conversations=conversations,
        messages=benchdata.MessageRange(messages, messages),
        seed=conversations * 31 + messages,
        text_seed=TEXT_SEED,
        prefix=prefix,
        progress=False,
    )


def _time(call, requests: int) -> tuple[float, float]:
    for _ in range(3):
        call()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return _p50_p99(samples)


def _p50_p99(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples), statistics.quantiles(samples, n=100, method="inclusive")[98]


def _queries(call) -> tuple[int, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        result = call()
    return len(captured.captured_queries), result


def _client(username: str):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def _getter(client, url: str, **headers):
    def call():
        response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code)
        return response

    return call


def _get(client, url: str, requests: int, **headers) -> tuple:
    call = _getter(client, url, **headers)
    p50, p99 = _time(call, requests)
    queries, response = _queries(call)
    return p50, p99, queries, len(response.content)


def _get_side_by_side(requests: int, named: list[tuple]) -> list[tuple]:
    """Time (name, client, url, headers) requests taking turns, one of each per round.

    The rows a target compares are measured in the same moments, so a noisy stretch of a
    shared machine weighs on each alike (one endpoint's 30 requests in a row did not).
    """
    calls = [(name, _getter(client, url, **headers)) for name, client, url, headers in named]
    for _ in range(3):
        for _name, call in calls:
            call()
    samples: dict[str, list[float]] = {name: [] for name, _ in calls}
    for _ in range(requests):
        for name, call in calls:
            started = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - started) * 1000)
    rows = []
    for name, call in calls:
        queries, response = _queries(call)
        rows.append((name, *_p50_p99(samples[name]), queries, len(response.content)))
    return rows


def _sidebar_rows(requests: int, *, big: int, ten: int) -> list[tuple]:
    client = _client("readsbig1")
    small = _client("readsten1")
    return _get_side_by_side(
        requests,
        [
            ("sidebar JSON, first page (50)", client, "/bench/sidebar.json", {}),
            ("/sidebar/ HTMX, first page", client, "/sidebar/", HTMX),
            ("full page /", client, "/", {}),
            (f"/sidebar/ HTMX, {ten:,}-conversation user", small, "/sidebar/", HTMX),
        ],
    )


def _chat_rows(requests: int) -> list[tuple]:
    from conversations.models import Conversation

    client = _client("readslong1")
    named = []
    # 60: more than the 50 a page shows, so it renders what the 10,000 thread renders.
    for count in (10_000, 60, 10):
        conversation = Conversation.objects.get(owner__username="readslong1", message_count=count)
        url = f"/c/{conversation.public_id}/"
        named.append((f"chat pane (HTMX), {count:,} messages", client, url, HTMX))
        named.append((f"chat page, {count:,} messages", client, url, {}))
    return _get_side_by_side(requests, named)


# The searches a search target compares: name -> (database alias, username).
SEARCH_SIDES = {
    "others": ("default", "readsten1"),
    "alone": ("alone", "readsten1"),
    "big": ("default", "readsbig1"),
}
# Calls of one search on one side before the turn passes to the next.
TURN = 5


def _search_in_turns(requests: int, sides: dict = SEARCH_SIDES) -> dict[str, dict]:
    """Search figures of each side, {kind: (p50, p99, queries, 0)}, the sides taking turns.

    By default the 10k-conversation user in the full database ("others") and in the alone
    copy ("alone"), and the 100k-conversation user ("big"): each query runs for one, then
    the next, in rounds of TURN calls after one untimed call (that database's pages and plans
    warmed as the others' are). So a shared machine's drift weighs on each side of a ratio
    alike. The slowest query of a kind is the kind's figure.
    """
    from django.contrib.auth import get_user_model

    from organise.search import conversation_search

    users = {}
    for name, (alias, username) in sides.items():
        with _database(alias):
            users[name] = get_user_model().objects.get(username=username)
    figures: dict[str, dict] = {name: {} for name in sides}
    for kind, queries in SEARCHES.items():
        per_query: dict[str, list] = {name: [] for name in sides}
        for query in queries:
            samples: dict[str, list] = {name: [] for name in sides}
            for _ in range(-(-requests // TURN)):
                for name, (alias, _username) in sides.items():
                    with _database(alias):
                        search = partial(conversation_search, user=users[name], query=query)
                        search()
                        for _ in range(TURN):
                            started = time.perf_counter()
                            search()
                            samples[name].append((time.perf_counter() - started) * 1000)
            for name, taken in samples.items():
                per_query[name].append(_p50_p99(taken))
        for name, (alias, _username) in sides.items():
            with _database(alias):
                count, _ = _queries(
                    partial(conversation_search, user=users[name], query=queries[0])
                )
            p50s, p99s = zip(*per_query[name], strict=True)
            figures[name][kind] = (max(p50s), max(p99s), count, 0)
    return figures


def _search_figures(username: str, requests: int) -> dict[str, tuple]:
    """One user's search figures on the default database (bench.search_existing)."""
    return _search_in_turns(requests, {"one": ("default", username)})["one"]


def _admin_rows(requests: int) -> list[tuple]:
    from django.contrib.auth import get_user_model

    from conversations.models import Conversation, Message

    user_model = get_user_model()
    admin, _ = user_model.objects.get_or_create(
        username="readsadmin", defaults={"is_staff": True, "is_superuser": True}
    )
    from django.test import Client

    client = Client()
    client.force_login(admin)
    from conversations.admin import MAX_PAGES

    message_total = Message.objects.count()
    message = Message.objects.order_by("pk")[message_total // 2]
    deep_messages = min(MAX_PAGES, -(-message_total // 100))
    deep_conversations = min(MAX_PAGES, -(-Conversation.objects.count() // 100))
    conversation = Conversation.objects.order_by("pk").last()
    messages = "/admin/conversations/message/"
    conversations = "/admin/conversations/conversation/"
    urls = [
        ("admin messages", messages),
        ("admin messages, role=user", f"{messages}?role__exact=user"),
        ("admin messages, status=failed (none)", f"{messages}?status__exact=failed"),
        ("admin messages, search msg_ id", f"{messages}?q={message.public_id}"),
        ("admin messages, search conv_ id", f"{messages}?q={conversation.public_id}"),
        (f"admin messages, deepest page ({deep_messages})", f"{messages}?p={deep_messages}"),
        ("admin conversations, status=active", f"{conversations}?status__exact=active"),
        ("admin conversations, search conv_ id", f"{conversations}?q={conversation.public_id}"),
        ("admin conversations, search a word", f"{conversations}?q=garden"),
        (
            f"admin conversations, deepest page ({deep_conversations})",
            f"{conversations}?p={deep_conversations}",
        ),
    ]
    return [(name, *_get(client, url, requests)) for name, url in urls]


def _targets(figures: dict) -> None:
    def ratio(a: str, b: str) -> float:
        return figures[a][0] / max(figures[b][0], 1e-9)

    sidebar = figures["/sidebar/ HTMX, first page"]
    small = next(name for name in figures if "-conversation user" in name)
    checks = [
        (
            "HTML sidebar / JSON <= 2",
            ratio("/sidebar/ HTMX, first page", "sidebar JSON, first page (50)"),
            2,
        ),
        ("full page / JSON <= 2", ratio("full page /", "sidebar JSON, first page (50)"), 2),
        ("sidebar queries <= 4", sidebar[1], 4),
        ("sidebar 100k / 10k user <= 1.2", ratio("/sidebar/ HTMX, first page", small), 1.2),
    ]
    for shorter in ("10", "60"):
        for what in ("chat pane (HTMX)", "chat page"):
            checks.append(
                (
                    f"{what} 10,000 / {shorter} messages <= 1.3",
                    ratio(f"{what}, 10,000 messages", f"{what}, {shorter} messages"),
                    1.3,
                )
            )
    for kind in SEARCHES:
        checks.append(
            (f"search {kind} 1M own p50 <= 30 ms", figures[f"search {kind}: 1M own"][0], 30)
        )
        checks.append(
            (
                f"search {kind} 1M / 100k own <= 1.5",
                ratio(f"search {kind}: 1M own", f"search {kind}: 100k own, others' 1M"),
                1.5,
            )
        )
        if f"search {kind}: 100k own, alone" not in figures:
            continue
        checks.append(
            (
                f"search {kind} with others' 1M / alone <= 1.2",
                ratio(f"search {kind}: 100k own, others' 1M", f"search {kind}: 100k own, alone"),
                1.2,
            )
        )
    for name, (p50, _queries) in figures.items():
        if name.startswith("admin"):
            checks.append((f"{name} <= 100 ms", p50, 100))
    print("\n| target | measured | met |")
    print("|---|---:|---|")
    for name, value, limit in checks:
        print(f"| {name} | {value:.2f} | {'yes' if value <= limit else 'NO'} |")


def _explain_pinned() -> None:
    """Show the plan of the pinned list on PostgreSQL: the partial index, no scan."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from conversations.selectors import conversation_list_for_sidebar

    user = get_user_model().objects.get(username="readsbig1")
    with CaptureQueriesContext(connection) as captured:
        conversation_list_for_sidebar(user=user, pinned=True, limit=100)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN ANALYZE " + captured.captured_queries[0]["sql"])
        print("\nEXPLAIN ANALYZE pinned list:\n" + "\n".join(r[0] for r in cursor.fetchall()))


if __name__ == "__main__":
    main()
