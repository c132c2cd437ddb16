"""CPU per upstream token of reading streamed replies through the provider (the openai SDK).

The fake OpenAI-format upstream (tests/fake_openai.py) runs in a process of its own and
writes a token every --token-delay seconds; this process runs --streams replies at once through
`OpenAIProvider.stream` (the openai SDK, its aiohttp transport, the `data:` lines parsed
with json.loads) and divides its CPU time by the tokens read, for --rounds rounds.

Measured 2026-12-02: reading bytes and splitting lines directly instead of the SDK's
`iter_lines` (text decoding and two more generator layers) saved 1-15 % across three runs
(medians 64.8 against 66.0 µs per token over eight rounds): within the noise, not kept.

    .venv/bin/python bench/upstream_read.py --streams 100 --tokens 100 --rounds 3
"""

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def serve(tokens: int, delay: float, pipe) -> None:
    from tests.fake_openai import FakeOpenAI

    fake = FakeOpenAI()
    fake.tokens = [f" t{i}" for i in range(tokens)]
    fake.token_delay = delay
    pipe.send(fake.base_url)
    pipe.recv()  # until the parent is done
    fake.close()


async def one_round(streams: int) -> int:
    from conversations.llm.base import TextDelta
    from conversations.llm.openai import OpenAIProvider

    async def reply() -> int:
        count = 0
        async for event in OpenAIProvider("bench-model").stream([{"role": "user", "content": "x"}]):
            count += isinstance(event, TextDelta)
        return count

    return sum(await asyncio.gather(*(reply() for _ in range(streams))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--token-delay", type=float, default=0.02, help="Seconds between tokens (0.02), "
        "so each token arrives in a read of its own, as a model's do."
    )  # fmt: skip
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    upstream = context.Process(target=serve, args=(args.tokens, args.token_delay, child))
    upstream.start()
    os.environ |= {
        "DJANGO_SETTINGS_MODULE": "chatbot.settings",
        "OPENAI_BASE_URL": parent.recv(),
        "OPENAI_API_KEY": "sk-bench",
        "CHAT_MODELS": "bench-model",
    }
    import django

    django.setup()
    from conversations.llm.openai import close_client

    figures: list[float] = []

    async def run() -> None:
        await one_round(2)  # connections, imports
        for _ in range(args.rounds):
            started = time.process_time()
            tokens = await one_round(args.streams)
            assert tokens == args.streams * args.tokens, tokens
            figures.append((time.process_time() - started) / tokens * 1e6)
        await close_client()

    try:
        asyncio.run(run())
    finally:
        parent.send("done")
        upstream.join(10)
    print(
        f"{args.streams} streams x {args.tokens} tokens, one every {args.token_delay * 1000:g} "
        "ms; CPU of the reading process:\n"
    )
    rounds = ", ".join(f"{v:.1f}" for v in figures)
    print(f"µs per token, each round: {rounds}; median {statistics.median(figures):.1f}")


if __name__ == "__main__":
    main()
