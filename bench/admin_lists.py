"""Time the admin changelists on a database bench.reads filled, with the code of the cwd's tree.

    # SQLite (the file bench.reads leaves) or PostgreSQL; run it from each tree in turn
    # (e.g. a worktree of the old commit, then this one) to compare them side by side:
    cd OLD_TREE && SQLITE_PATH=NEW_TREE/var/bench-reads.sqlite3 python NEW_TREE/bench/admin_lists.py
    cd NEW_TREE && SQLITE_PATH=NEW_TREE/var/bench-reads.sqlite3 python bench/admin_lists.py
    cd NEW_TREE && DATABASE_URL=postgres://…/readsb python bench/admin_lists.py

Runs bench.reads' admin rows (30 timed requests each after 3 warm-up ones, queries counted
on one more) plus a few more conversation lists, and prints them as JSON: one list of
(name, p50 ms, p99 ms, queries, bytes) per run. It reads and adds nothing but a staff user.
"""

import json
import os
import sys
from pathlib import Path

# The tree whose code runs is the working directory's, whichever file this is; and not this
# file's directory, whose http.py would shadow the standard library's.
sys.path[0] = os.getcwd()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
if "DATABASE_URL" not in os.environ:
    os.environ.setdefault("SQLITE_PATH", str(Path.cwd() / "var" / "bench-reads.sqlite3"))


def main() -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from bench.reads import _admin_rows, _get

    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    rows = _admin_rows(requests)
    client = Client()
    client.force_login(get_user_model().objects.get(username="readsadmin"))
    lists = "/admin/conversations/conversation/"
    more = [
        ("admin conversations, first page", lists),
        ("admin conversations, status=locked (none)", f"{lists}?status__exact=locked"),
        ("admin conversations, search an owner", f"{lists}?q=readsbig1"),
        ("admin conversations, search two words", f"{lists}?q=cache+socket"),
        ("admin conversations, search no match", f"{lists}?q=xylophone"),
    ]
    rows += [(name, *_get(client, url, requests)) for name, url in more]
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
