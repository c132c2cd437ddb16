"""What the benchmarks that start server processes share: ports, start-up, environment."""

import os
import socket
import subprocess
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, process: subprocess.Popen, timeout: float = 60, log: str = "") -> None:
    """Return once something listens on port; SystemExit if the process ends or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a server exited at start (code {process.returncode}) {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on {port} {log}")


def server_env(*, drop: tuple[str, ...], **settings: str) -> dict[str, str]:
    """Return this environment without the `drop` prefixes, set up for a production-like server.

    DEBUG off, a fixed secret key, plain HTTP on 127.0.0.1; `settings` add or override.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(drop)}
    return env | {
        "PYTHONPATH": str(BASE_DIR),
        "DEBUG": "False",
        "SECRET_KEY": "bench-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "False",
        **settings,
    }
