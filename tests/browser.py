"""A real daphne server and a real Chromium for browser tests, registered once for all of tests/.

The server runs in its own process on its own database: a fresh SQLite file, or, when
DATABASE_URL points at PostgreSQL, a fresh database on that server named after DB_TEST_NAME.
Tests create what they need through the browser (sign-up) or `e2e_server.manage(...)`.
"""

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"

# A busy machine (parallel test runs) can be slow to answer; assertions wait up to 10 s.
expect.set_options(timeout=10_000)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class E2EServer:
    url: str
    env: dict
    process: subprocess.Popen = field(repr=False)

    def manage(self, *args: str, input: str | None = None) -> str:
        """Run a manage.py command against the server's database and return its output."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    def shell(self, code: str) -> str:
        """Run Python in `manage.py shell` against the server's database; return its output."""
        return self.manage("shell", "--no-imports", "-c", code)


def _postgres_database(url: str) -> tuple[str, str]:
    """Create an empty database next to DATABASE_URL's; return (its URL, its name)."""
    import psycopg

    name = (os.environ.get("DB_TEST_NAME") or "test") + "_e2e"
    base, _, _ = url.rpartition("/")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}", name


def _drop_postgres_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Run a browser test at both sizes: take `size` and call page.set_viewport_size(size).
both_sizes = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])


@pytest.fixture(scope="session")
def e2e_server():
    """Start daphne on a free port with a freshly migrated database; stop it at the end."""
    workdir = Path(tempfile.mkdtemp(prefix="e2e-server-"))
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SQLITE_TEST_PATH")}
    env |= {
        "DEBUG": "True",
        "VAR_DIR": str(workdir),
        "SQLITE_PATH": str(workdir / "db.sqlite3"),
        "SIGNUP_ENABLED": "True",
        "CHAT_MODELS": "demo",
        "OPENAI_API_KEY": "",
        "PYTHONUNBUFFERED": "1",
    }
    admin_url = env.get("DATABASE_URL", "")
    pg_name = None
    if admin_url.startswith("postgres"):
        env["DATABASE_URL"], pg_name = _postgres_database(admin_url)
    else:
        env.pop("DATABASE_URL", None)
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if migrated.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{migrated.stdout}\n{migrated.stderr}")
    port = _free_port()
    log = open(workdir / "daphne.log", "w")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(port)]
        + ["chatbot.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    # Generous: on a busy machine without bytecode caches, imports alone take many seconds.
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/accounts/login/", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"daphne did not start:\n{(workdir / 'daphne.log').read_text()}")
        time.sleep(0.2)
    server = E2EServer(url=url, env=env, process=process)
    yield server
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    if pg_name:
        _drop_postgres_database(admin_url, pg_name)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module (Debian's, never a downloaded one).

    Playwright's sync API keeps an event loop running while it is open, so it must close
    before the next module's asyncio tests start.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser, e2e_server):
    """A fresh browser profile (cookies, storage) pointed at the server."""
    ctx = browser.new_context(base_url=e2e_server.url, viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


class ConsoleProblems(list):
    """Console errors and warnings and uncaught exceptions, minus those a test said it causes."""

    def __init__(self):
        super().__init__()
        self.allowed: list[re.Pattern] = []

    def allow(self, *patterns: str) -> None:
        """Expect messages matching these regexes (a test that provokes an error response)."""
        self.allowed += [re.compile(pattern) for pattern in patterns]

    def add(self, text: str) -> None:
        self.append(text)

    def unexpected(self) -> list[str]:
        return [text for text in self if not any(p.search(text) for p in self.allowed)]


@pytest.fixture
def console_problems(context) -> ConsoleProblems:
    """Every console error or warning and uncaught exception of the context's pages, in order.

    Normal use of the app logs nothing: htmx logs each aborted request, each error response
    and each out-of-band swap without a target as an error, and Chromium each CSP violation
    and each failed resource.
    """
    problems = ConsoleProblems()

    def on_console(message) -> None:
        if message.type in ("error", "warning"):
            where = message.location.get("url", "")
            problems.add(f"console.{message.type}: {message.text} ({where})")

    context.on("console", on_console)
    context.on("weberror", lambda error: problems.add(f"pageerror: {error.error}"))
    return problems


@pytest.fixture
def page(context):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page


def sign_up(page, username: str | None = None, password: str = PASSWORD) -> str:
    """Create an account through the sign-up form; return the username."""
    username = username or f"user{secrets.token_hex(5)}"
    page.goto("/accounts/signup/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password confirmation").fill(password)
    page.get_by_role("button", name="Sign up").click()
    # Hashing the password takes the longest of any step here on a busy machine.
    page.get_by_role("textbox", name="Message").wait_for(timeout=30_000)
    return username


def log_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("textbox", name="Message").wait_for(timeout=30_000)


@pytest.fixture
def signed_in_page(page):
    """A page signed in as a new user (its name on `page.username`)."""
    page.username = sign_up(page)
    return page
