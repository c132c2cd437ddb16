"""Time the sidebar against a bare JSON view on one real daphne server.

Run from the project root, against the database the environment names:

    .venv/bin/python -m bench.sidebar --requests 500

It logs in a user (by default the one with the most conversations), counts each endpoint's
queries once in-process, starts `daphne chatbot.asgi:application` with `bench.settings` on
a free port, sends the requests one at a time over a keep-alive connection (endpoints
interleaved), and prints p50, p99, the query count and the ratio to the bare view.
"""

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "bench.settings"
HOST = "127.0.0.1"


@dataclass
class Endpoint:
    name: str
    path: str
    headers: dict = field(default_factory=dict)
    queries: int = 0
    samples: list[float] = field(default_factory=list)

    def percentile(self, p: int) -> float:
        return statistics.quantiles(self.samples, n=100, method="inclusive")[p - 1] * 1000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user", help="Username to log in as (default: most conversations).")
    parser.add_argument("--requests", type=int, default=500, help="Timed requests per endpoint.")
    parser.add_argument("--warmup", type=int, default=30, help="Untimed requests per endpoint.")
    parser.add_argument(
        "--depth",
        type=int,
        default=50_000,
        help="Also time the page that starts this many conversations down (keyset cursor).",
    )
    parser.add_argument(
        "--path",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="Also time this URL of the site (repeatable), e.g. 'sidebar html=/'.",
    )
    return parser.parse_args(argv)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def pick_user(username: str | None):
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    users = get_user_model().objects
    if username:
        return users.get(username=username)
    user = users.annotate(n=Count("conversations")).order_by("-n").first()
    if user is None:
        raise SystemExit("No users. Run manage.py generate_bench_data first.")
    return user


def deep_cursor(user, depth: int) -> tuple[str | None, int]:
    """Return a keyset cursor `depth` rows down the user's sidebar, and the row count."""
    from conversations.models import Conversation
    from conversations.selectors import encode_cursor

    visible = Conversation.objects.filter(owner=user, archived_at__isnull=True)
    total = visible.count()
    depth = min(depth, total - 51)
    if depth <= 0:
        return None, total
    row = visible.order_by("-updated_at", "-id").only("id", "updated_at")[depth]
    return encode_cursor(row.updated_at, row.pk), total


def html_endpoints(cursor: str | None, depth: int) -> list[Endpoint]:
    """Return the app's own sidebar (HTMX partial and full page) if its URL exists yet."""
    from django.urls import NoReverseMatch, reverse

    try:
        url = reverse("sidebar")
    except NoReverseMatch:
        return []
    htmx = {"HX-Request": "true"}
    endpoints = [
        Endpoint("sidebar HTML partial (HTMX), first page", url, htmx),
        Endpoint("full page with sidebar (/)", reverse("home")),
    ]
    if cursor:
        endpoints.insert(
            1, Endpoint(f"sidebar HTML partial, page at {depth:,}", f"{url}?cursor={cursor}", htmx)
        )
    return endpoints


def count_queries(client, endpoint: Endpoint) -> None:
    """Request the endpoint in-process once, check it, and record its query count."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(endpoint.path, headers=endpoint.headers)
    if response.status_code != 200:
        raise SystemExit(f"{endpoint.path} answered {response.status_code}, not 200.")
    endpoint.queries = len(captured)


def start_server(port: int, log) -> subprocess.Popen:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE=SETTINGS)
    command = [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(port), "-v", "0"]
    return subprocess.Popen(
        [*command, "chatbot.asgi:application"], cwd=ROOT, env=env, stdout=log, stderr=log
    )


def wait_until_serving(server: subprocess.Popen, port: int, log_path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"daphne exited:\n{Path(log_path).read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", "/bench/bare.json")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("daphne did not start within 60 seconds.")


def run(endpoints: list[Endpoint], port: int, cookie: str, requests: int, warmup: int) -> None:
    """Send warmup + requests GETs per endpoint, interleaved, and keep the timed ones."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Cookie": cookie, "Host": HOST}
    for round_number in range(warmup + requests):
        shift = round_number % len(endpoints)
        for endpoint in endpoints[shift:] + endpoints[:shift]:
            started = time.perf_counter()
            conn.request("GET", endpoint.path, headers=headers | endpoint.headers)
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            if response.status != 200:
                raise SystemExit(f"{endpoint.path} answered {response.status} from daphne.")
            if round_number >= warmup:
                endpoint.samples.append(elapsed)
    conn.close()


def report(endpoints: list[Endpoint], *, vendor: str, user, total: int, requests: int) -> str:
    bare = endpoints[0]
    lines = [
        f"{vendor}, user {user.username} with {total:,} visible conversations, "
        f"{requests} requests per endpoint, one client, keep-alive",
        "",
        "| endpoint | p50 ms | p99 ms | queries | p50 / bare | p99 / bare |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for e in endpoints:
        p50, p99 = e.percentile(50), e.percentile(99)
        lines.append(
            f"| {e.name} | {p50:.2f} | {p99:.2f} | {e.queries} "
            f"| {p50 / bare.percentile(50):.2f} | {p99 / bare.percentile(99):.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    user = pick_user(args.user)
    cursor, total = deep_cursor(user, args.depth)
    endpoints = [
        Endpoint("bare JSON (no DB)", "/bench/bare.json"),
        Endpoint("sidebar JSON, first page of 50", "/bench/sidebar.json"),
    ]
    if cursor:
        endpoints.append(
            Endpoint(
                f"sidebar JSON, page at {args.depth:,}", f"/bench/sidebar.json?cursor={cursor}"
            )
        )
    endpoints.extend(html_endpoints(cursor, args.depth))
    for item in args.path:
        name, _, path = item.rpartition("=")
        endpoints.append(Endpoint(name or path, path))

    client = Client(HTTP_HOST=HOST)
    client.force_login(user)
    for endpoint in endpoints:
        count_queries(client, endpoint)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    vendor = connection.vendor
    connection.close()

    port = free_port()
    with tempfile.NamedTemporaryFile("w", prefix="bench-daphne-", suffix=".log") as log:
        server = start_server(port, log)
        try:
            wait_until_serving(server, port, log.name)
            run(endpoints, port, cookie, args.requests, args.warmup)
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(report(endpoints, vendor=vendor, user=user, total=total, requests=args.requests))


if __name__ == "__main__":
    main()
