"""Time search on a database `bench.reads` already filled (no generation), after migrating it.

For comparing two trees on the same data: migrate a copy with the newer tree, then run this
from each tree in turn (an older tree's queries simply ignore the newer indexes):

    cp var/bench-reads.sqlite3 /tmp/reads.sqlite3
    SQLITE_PATH=/tmp/reads.sqlite3 .venv/bin/python -m bench.search_existing --migrate
    (cd ../old-tree && SQLITE_PATH=/tmp/reads.sqlite3 .venv/bin/python -m bench.search_existing)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/readsb .venv/bin/python -m bench.search_existing

Prints the slowest p50 of each query kind of `bench.reads` for the 100k-conversation user
(1M own messages) and the 10k one (100k own, beside the other's 1M).
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--migrate", action="store_true", help="Apply migrations first.")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if args.migrate:
        call_command("migrate", verbosity=1)
    from bench.reads import _search_figures

    print(f"{connection.vendor}: p50 / p99 ms, queries")
    for username, label in (("readsbig1", "1M own"), ("readsten1", "100k own, others' 1M")):
        for kind, (p50, p99, queries, _) in _search_figures(username, args.requests).items():
            print(f"| {kind}: {label} | {p50:.1f} | {p99:.1f} | {queries} |")


if __name__ == "__main__":
    main()
