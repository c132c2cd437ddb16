"""CPU of the chat pane and page: a 10,000-message thread against a 10-message one, in process.

Reads the data `bench.reads` leaves (user ``readslong1``: threads of 10,000, 60 and 10
messages; a page shows the newest 50). SQLite by default (``var/bench-reads.sqlite3``), or
the database in DATABASE_URL:

    .venv/bin/python -m bench.reads --scale 0.01 --backends sqlite   # fills the data once
    .venv/bin/python -m bench.chat_pane --rounds 3 --requests 60

Prints, per round, the median CPU time of the process per request (less exposed to other
work on the machine than wall time) and the 10,000 / 10 ratio; issue 12's target is 1.3.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--sqlite", default=str(ROOT / "var" / "bench-reads.sqlite3"))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    if not os.environ.get("DATABASE_URL"):
        os.environ["SQLITE_PATH"] = args.sqlite
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from conversations.models import Conversation

    client = Client()
    client.force_login(get_user_model().objects.get(username="readslong1"))
    threads = Conversation.objects.filter(owner__username="readslong1")
    urls = {c.message_count: f"/c/{c.public_id}/" for c in threads}
    for name, headers in (("pane (HTMX)", {"HTTP_HX_REQUEST": "true"}), ("page", {})):
        for url in urls.values():
            for _ in range(5):
                assert client.get(url, **headers).status_code == 200
        for round_ in range(1, args.rounds + 1):
            # The threads take turns, request by request: a burst of other work on the
            # machine lands on all of them alike instead of on whichever was being timed.
            samples = {count: [] for count in urls}
            for _ in range(args.requests):
                for count, url in sorted(urls.items(), reverse=True):
                    started = time.process_time()
                    client.get(url, **headers)
                    samples[count].append((time.process_time() - started) * 1000)
            medians = {count: statistics.median(times) for count, times in samples.items()}
            shown = ", ".join(f"{count:,}: {ms:.2f} ms" for count, ms in medians.items())
            ratio = medians[max(medians)] / medians[min(medians)]
            print(f"chat {name}, round {round_}: {shown}; {ratio:.2f}x")


if __name__ == "__main__":
    main()
