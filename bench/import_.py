"""Time a ChatGPT export import and measure its peak memory.

Run from the project root against a database of its own (it adds users and conversations):

    SQLITE_PATH=/tmp/bench-import.sqlite3 .venv/bin/python -m bench.import_
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_import .venv/bin/python -m bench.import_

For each size in --sizes it writes a synthetic conversations.json (every conversation has a
hidden system root, a regenerated reply making a second branch, and on every fifth one a
code call with its execution output), imports it for a fresh user twice: once timed, once
under tracemalloc for the peak of Python allocations, then re-imports it to time the
duplicate check. Peak memory staying flat as the file grows is the point.
"""

import argparse
import json
import os
import random
import tempfile
import time
import tracemalloc
from pathlib import Path

WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "kettle",
    "walrus",
    "garden",
    "socket",
    "budget",
    "travel",
    "recipe",
    "python",
    "deploy",
    "cache",
    "queue",
    "index",
    "token",
    "stream",
    "branch",
    "merge",
    "review",
    "tea",
    "café",
    "naïve",
    "日本語",
]


def _text(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(low, high)))


def _node(node_id, parent, role, content, created, children, hidden=False, model=None):
    metadata = {"is_visually_hidden_from_conversation": True} if hidden else {}
    if model:
        metadata["model_slug"] = model
    return {
        "id": node_id,
        "parent": parent,
        "children": children,
        "message": {
            "id": node_id,
            "author": {"role": role},
            "create_time": created,
            "content": content,
            "status": "finished_successfully",
            "metadata": metadata,
        },
    }


def conversation(index: int, rng: random.Random, turns: int) -> dict:
    """Return one ChatGPT-shaped conversation: about 2 * turns + 3 messages, two branches."""
    start = 1_600_000_000 + index * 3_600.0
    mapping = {"root": {"id": "root", "message": None, "parent": None, "children": ["sys"]}}
    mapping["sys"] = _node(
        "sys", "root", "system", {"content_type": "text", "parts": [""]}, None, [], hidden=True
    )
    parent, clock = "sys", start
    for turn in range(turns):
        user_id, reply_id = f"c{index}-u{turn}", f"c{index}-a{turn}"
        clock += 30
        mapping[parent]["children"].append(user_id)
        text = {"content_type": "text", "parts": [_text(rng, 5, 30)]}
        mapping[user_id] = _node(user_id, parent, "user", text, clock, [])
        reply = {"content_type": "text", "parts": [_text(rng, 20, 120)]}
        mapping[user_id]["children"].append(reply_id)
        mapping[reply_id] = _node(
            reply_id, user_id, "assistant", reply, clock + 5, [], model="gpt-4o"
        )
        if turn == 0:  # A regenerated first reply: a second branch.
            alt = f"c{index}-alt"
            mapping[user_id]["children"].append(alt)
            mapping[alt] = _node(alt, user_id, "assistant", reply, clock + 6, [], model="gpt-4o")
        if index % 5 == 0 and turn == 1:
            code, out = f"c{index}-code", f"c{index}-out"
            mapping[reply_id]["children"].append(code)
            mapping[code] = _node(
                code,
                reply_id,
                "assistant",
                {"content_type": "code", "language": "python", "text": "print(6 * 7)"},
                clock + 7,
                [out],
            )
            mapping[out] = _node(
                out,
                code,
                "tool",
                {"content_type": "execution_output", "text": "42"},
                clock + 8,
                [],
            )
        parent = reply_id
    return {
        "title": f"Conversation {index} {_text(rng, 1, 4)}",
        "create_time": start,
        "update_time": clock + 10,
        "conversation_id": f"bench-{index}",
        "is_archived": index % 10 == 0,
        "current_node": parent,
        "mapping": mapping,
    }


def write_export(path: Path, conversations: int, turns: int) -> None:
    """Write a conversations.json of that many conversations, one at a time."""
    rng = random.Random(conversations)
    with path.open("w") as out:
        out.write("[")
        for index in range(conversations):
            if index:
                out.write(",\n")
            json.dump(conversation(index, rng, turns), out, ensure_ascii=False)
        out.write("]")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000", help="Comma list of conversation counts.")
    parser.add_argument("--turns", type=int, default=10, help="User/assistant turns each.")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from organise.transfer.importer import import_file

    call_command("migrate", verbosity=0)
    users = get_user_model().objects
    print(f"{connection.vendor}: import of a ChatGPT conversations.json")
    print(
        f"{'conversations':>13}{'messages':>10}{'file MB':>9}{'seconds':>9}{'conv/s':>8}"
        f"{'peak MB':>9}{'re-import s':>13}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "conversations.json"
            write_export(path, size, args.turns)
            megabytes = path.stat().st_size / 1e6
            stamp = time.time_ns()
            timed = users.create(username=f"importbench-{size}-{stamp}")
            started = time.perf_counter()
            with path.open("rb") as file:
                report = import_file(user=timed, file=file)
            seconds = time.perf_counter() - started
            assert report.imported == size and not report.failed, report.summary
            started = time.perf_counter()
            with path.open("rb") as file:
                again = import_file(user=timed, file=file)
            reimport = time.perf_counter() - started
            assert again.duplicates == size, again.summary
            traced = users.create(username=f"importbench-{size}-{stamp}-mem")
            tracemalloc.start()
            with path.open("rb") as file:
                import_file(user=traced, file=file)
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        print(
            f"{size:>13,}{report.messages:>10,}{megabytes:>9.1f}{seconds:>9.1f}"
            f"{size / seconds:>8.0f}{peak / 1e6:>9.1f}{reimport:>13.2f}"
        )


if __name__ == "__main__":
    main()
