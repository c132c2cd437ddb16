"""CPU per upstream token of reading streamed replies through the provider (the openai SDK).

The fake OpenAI-format upstream (tests/fake_openai.py) runs in a process of its own and
writes a token every --token-delay seconds; this process runs --streams replies at once through
`OpenAIProvider.stream` (the openai SDK, its aiohttp transport, the `data:` lines parsed
with json.loads) and divides its CPU time by the tokens read, for --rounds rounds.

With --bare, each round also reads the same replies with nothing but asyncio's streams (one
HTTP/1.1 POST on a socket of its own, the `data:` lines split by the StreamReader and parsed
with json.loads), and in an asyncio Protocol's `data_received` (the lines split and parsed
in the callback: no task woken for a token), all taking turns: the floors of reading a token
in this process, which no choice of client goes below. See bench/README.md, "What a token
costs" (2026-12-04) and "The floor of reading a token" (2026-12-07).

Measured 2026-12-02: reading bytes and splitting lines directly instead of the SDK's
`iter_lines` (text decoding and two more generator layers) saved 1-15 % across three runs
(medians 64.8 against 66.0 µs per token over eight rounds): within the noise, not kept.

    .venv/bin/python bench/upstream_read.py --streams 100 --tokens 100 --rounds 3 --bare
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

# What both readers ask the upstream for (the fake answers any model and any messages).
MODEL = "bench-model"
MESSAGES = [{"role": "user", "content": "x"}]


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
        async for event in OpenAIProvider(MODEL).stream(MESSAGES):
            count += isinstance(event, TextDelta)
        return count

    return sum(await asyncio.gather(*(reply() for _ in range(streams))))


async def bare_round(streams: int, base_url: str) -> int:
    """Read `streams` replies at once with asyncio's streams alone; return the tokens read."""
    url = urlsplit(base_url)
    request = _request(url)

    async def reply() -> int:
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        writer.write(request)
        count = 0
        async for line in reader:
            if (tokens := _line_tokens(line)) is None:
                break
            count += tokens
        writer.close()
        return count

    return sum(await asyncio.gather(*(reply() for _ in range(streams))))


async def protocol_round(streams: int, base_url: str) -> int:
    """Read `streams` replies at once in protocol callbacks: no task wakes for a token."""
    url = urlsplit(base_url)
    request = _request(url)
    loop = asyncio.get_running_loop()

    class Reader(asyncio.Protocol):
        def __init__(self) -> None:
            self.buffer, self.count, self.done = b"", 0, loop.create_future()

        def connection_made(self, transport) -> None:
            transport.write(request)

        def data_received(self, data: bytes) -> None:
            *lines, self.buffer = (self.buffer + data).split(b"\n")
            for line in lines:
                if (tokens := _line_tokens(line)) is None:
                    self._end()
                    return
                self.count += tokens

        def connection_lost(self, exc) -> None:
            self._end()  # a short count fails the round

        def _end(self) -> None:
            if not self.done.done():
                self.done.set_result(self.count)

    async def reply() -> int:
        transport, reader = await loop.create_connection(Reader, url.hostname, url.port)
        count = await reader.done
        transport.close()
        return count

    return sum(await asyncio.gather(*(reply() for _ in range(streams))))


def _line_tokens(line: bytes) -> int | None:
    """Return the text deltas one server-sent line carries, None at `[DONE]`."""
    if not line.startswith(b"data:"):
        return 0
    data = line[5:].strip()
    if data == b"[DONE]":
        return None
    choices = json.loads(data).get("choices") or ()
    return sum(bool((choice.get("delta") or {}).get("content")) for choice in choices)


def _request(url) -> bytes:
    body = json.dumps({"model": MODEL, "messages": MESSAGES, "stream": True}).encode()
    return (
        f"POST {url.path.rstrip('/')}/chat/completions HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--token-delay", type=float, default=0.02, help="Seconds between tokens (0.02), "
        "so each token arrives in a read of its own, as a model's do."
    )  # fmt: skip
    parser.add_argument(
        "--bare",
        action="store_true",
        help="Also read with asyncio's streams alone, and in a protocol's callbacks, in turns.",
    )
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    upstream = context.Process(target=serve, args=(args.tokens, args.token_delay, child))
    upstream.start()
    base_url = parent.recv()
    os.environ |= {
        "DJANGO_SETTINGS_MODULE": "chatbot.settings",
        "OPENAI_BASE_URL": base_url,
        "OPENAI_API_KEY": "sk-bench",
        "CHAT_MODELS": MODEL,
    }
    import django

    django.setup()
    from conversations.llm.openai import close_client

    kinds = {"the provider (openai SDK)": one_round}
    if args.bare:
        kinds["asyncio's streams alone"] = lambda streams: bare_round(streams, base_url)
        kinds["a protocol's callbacks alone"] = lambda streams: protocol_round(streams, base_url)
    figures: dict[str, list[float]] = {kind: [] for kind in kinds}

    async def run() -> None:
        for read in kinds.values():  # connections, imports
            await read(2)
        for _ in range(args.rounds):
            for kind, read in kinds.items():
                started = time.process_time()
                tokens = await read(args.streams)
                if tokens != args.streams * args.tokens:  # not an assert: -O must not skip it
                    raise SystemExit(f"{kind} read {tokens} of {args.streams * args.tokens} tokens")
                figures[kind].append((time.process_time() - started) / tokens * 1e6)
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
    for kind, values in figures.items():
        rounds = ", ".join(f"{v:.1f}" for v in values)
        print(f"{kind}: µs per token, each round: {rounds}; median {statistics.median(values):.1f}")


if __name__ == "__main__":
    main()
