"""Benchmark: CPU per frame and bytes per reply, whole-reply re-render vs the block renderer.

    .venv/bin/python bench/blocks.py                   # 60, 600, 3000 tokens, a frame per 3
    .venv/bin/python bench/blocks.py --tokens 600 --every 1

The old way renders the whole text through markdown, highlighting and the sanitizer on every
frame and sends all of it; the new way (conversations/engine/blocks.py) renders closed blocks
once and re-renders only the open tail. Both skip render_markdown's cache, as a live stream
never hits it. Prints a Markdown table.
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")

import django  # noqa: E402

django.setup()

from conversations.engine.blocks import BlockRenderer  # noqa: E402
from conversations.rendering import render_markdown_uncached  # noqa: E402
from tests.engine.test_blocks import LONG_REPLY, MIXED_REPLY  # noqa: E402


def words(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


def reply(tokens: int) -> list[str]:
    """Return the words of a mixed-markdown reply exactly `tokens` long."""
    text, pieces = "", [MIXED_REPLY, LONG_REPLY]
    while len(words(text)) < tokens:
        text += pieces[len(text) % 2] + "\n"
    return words(text)[:tokens]


def prefixes(chunks: list[str], every: int) -> list[str]:
    out, text = [], ""
    for index, chunk in enumerate(chunks, 1):
        text += chunk
        if index % every == 0 or index == len(chunks):
            out.append(text)
    return out


def old_way(texts: list[str]) -> tuple[float, int]:
    start, sent = time.process_time(), 0
    for text in texts:
        sent += len(render_markdown_uncached(text).encode())
    return time.process_time() - start, sent


def new_way(texts: list[str]) -> tuple[float, BlockRenderer]:
    renderer = BlockRenderer()
    start = time.process_time()
    for text in texts:
        renderer.feed(text)
    return time.process_time() - start, renderer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", default="60,600,3000", help="reply lengths, comma-separated")
    parser.add_argument("--every", type=int, default=3, help="tokens per frame (coalescing)")
    args = parser.parse_args()
    new_way(prefixes(reply(60), args.every))  # warm up pygments lexers and the parser
    print(f"One frame per {args.every} token(s); CPU is process time per frame.\n")
    print(
        "| tokens | frames | final HTML B | old ms/frame | new ms/frame | CPU old/new "
        "| old B sent | new B sent (whole tail) | new B sent (tail delta) "
        "| old / final | new / final | delta / final |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for tokens in (int(value) for value in args.tokens.split(",")):
        texts = prefixes(reply(tokens), args.every)
        old_cpu, old_sent = old_way(texts)
        new_cpu, renderer = new_way(texts)
        stats = renderer.stats()
        final = stats.html_bytes
        frames = len(texts)
        print(
            f"| {tokens} | {frames} | {final:,} | {old_cpu / frames * 1000:.2f} "
            f"| {new_cpu / frames * 1000:.2f} | {old_cpu / new_cpu:.1f}x "
            f"| {old_sent:,} | {stats.bytes_sent:,} | {stats.delta_bytes_sent:,} "
            f"| {old_sent / final:.1f} | {stats.ratio:.1f} | {stats.delta_ratio:.1f} |"
        )


if __name__ == "__main__":
    main()
