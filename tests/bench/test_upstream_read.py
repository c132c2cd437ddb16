"""bench/upstream_read.py runs end to end: every reader counts every token it was sent."""

import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def test_the_provider_and_the_bare_readers_each_read_every_token():
    result = subprocess.run(
        [sys.executable, "bench/upstream_read.py", "--streams", "3", "--tokens", "5",
         "--rounds", "1", "--token-delay", "0", "--bare"],
        cwd=BASE_DIR, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    # Each round asserts it read streams x tokens deltas; a miscount fails the run.
    assert result.returncode == 0, result.stderr
    assert "the provider (openai SDK): µs per token" in result.stdout
    assert "asyncio's streams alone: µs per token" in result.stdout
    assert "a protocol's callbacks alone: µs per token" in result.stdout
