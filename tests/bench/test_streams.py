"""bench/streams.py runs end to end: replies stream to sockets, idle sockets get each change."""

import os
import re
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def test_streams_finish_and_every_idle_socket_gets_every_sidebar_change():
    # A scratch SQLite file and the in-memory layer, whatever the suite runs on.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    result = subprocess.run(
        [sys.executable, "bench/streams.py", "--streams", "3", "--tokens", "5",
         "--token-delay", "0.005", "--idle", "20", "--idle-seconds", "0.2", "--fanouts", "2"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"^\| 1 \| 3 \| \d+ \| [\d.]+ \| 3/3 \|", result.stdout, re.M), result.stdout
    assert "Idle: 20/20 websockets open" in result.stdout
    # The first change and two more, each reaching all 20 sockets, the clients' CPU beside.
    changes = re.findall(
        r"^\| (first|\d) \| (\d+)/20 \| \d+ \| \d+ \| \d+ \| \d+ \|$", result.stdout, re.M
    )
    assert changes == [("first", "20"), ("2", "20"), ("3", "20")], result.stdout
