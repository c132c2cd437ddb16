"""Two real daphne processes on one database and one Redis: a stream started on A reaches a
client of B, and Stop pressed through B stops it."""

import asyncio
import functools
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("ENGINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")

pytestmark = pytest.mark.django_db(transaction=True)

IN_PROGRESS = re.compile(r'<article id="message-(msg_\w+)"[^>]*data-status="in_progress"')

SETUP = """
import json
from django.test import Client
from tests.factories import ConversationFactory, UserFactory
user = UserFactory(username="multi")
conversation = ConversationFactory(owner=user, title="Two processes")
client = Client()
client.force_login(user)
print(json.dumps({"session": client.cookies["sessionid"].value,
                  "conversation": conversation.public_id}))
"""

READ = """
import json
from conversations.models import Message
reply = Message.objects.get(public_id="%s")
print(json.dumps({"status": reply.status, "content": reply.content}))
"""

LAST_REPLY = """
import json
from conversations.models import Message
reply = Message.objects.filter(conversation__public_id="%s", role="assistant").latest("id")
print(json.dumps({"status": reply.status, "content": reply.content}))
"""


def redis_reachable() -> bool:
    try:
        import redis

        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001 - any failure means no Redis to test against
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"daphne exited: {process.stdout.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the server on port {port} did not start in {timeout:.0f} s")


@pytest.fixture
def shared_env(tmp_path, fake_openai):
    """Environment for server processes sharing this test's database and one Redis db."""
    if not redis_reachable():
        pytest.skip(f"Redis is not reachable at {REDIS_URL}; the multi-process test needs it.")
    prefix = f"enginetest-{uuid.uuid4().hex[:8]}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "SQLITE", "DB_TEST", "REDIS", "OPENAI"))
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "chatbot.settings",
        "PYTHONPATH": str(BASE_DIR),
        "DEBUG": "True",
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": prefix,
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": fake_openai.base_url,
        "CHAT_MODELS": "fake-model",
        "TITLE_MODEL": "fake-model",
        "GENERATION_FLUSH_INTERVAL": "0.05",
    }
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:"
            f"{settings_dict['PORT']}/{settings_dict['NAME']}"
        )
    elif connection.is_in_memory_db():
        # The in-memory test database is private to this process: use a migrated file.
        env["SQLITE_PATH"] = str(tmp_path / "shared.sqlite3")
        manage(env, "migrate", "--noinput", "-v0")
    else:
        env["SQLITE_PATH"] = str(settings_dict["NAME"])
    yield env
    import redis

    store = redis.Redis.from_url(REDIS_URL)
    keys = list(store.scan_iter(f"*{prefix}*"))
    if keys:
        store.delete(*keys)


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


class Servers(list):
    """The servers' host:port addresses, with their processes (to kill one)."""

    processes: list[subprocess.Popen]


def browser_post(session_id: str, conversation: str, host: str, path: str, data: dict):
    """POST a form to host as the signed-in browser would (session cookie and CSRF token)."""
    session = requests.Session()
    session.cookies.set("sessionid", session_id)
    session.get(f"http://{host}/c/{conversation}/", timeout=10)
    token = session.cookies.get("csrftoken", "")
    return session.post(
        f"http://{host}{path}",
        data=data | {"csrfmiddlewaretoken": token},
        headers={"X-CSRFToken": token, "Referer": f"http://{host}/"},
        timeout=10,
        allow_redirects=False,
    )


def watch(host: str, conversation: str, session_id: str):
    """Open the conversation's websocket on host as the signed-in browser."""
    import websockets

    return websockets.connect(
        f"ws://{host}/ws/chat/{conversation}/",
        origin=f"http://{host}",
        additional_headers={"Cookie": f"sessionid={session_id}"},
    )


def frames_of(frames: list[str], reply_id: str) -> list[str]:
    """Return one reply's frames: HTML naming it, and tail frames under the socket's alias."""
    names, found = {reply_id}, []
    for frame in frames:
        if frame.startswith("@tail "):
            name = frame.split(" ", 2)[1]
            if name.startswith(f"{reply_id}="):
                names.add(name.split("=")[1])
            if name.split("=")[0] in names:
                found.append(frame)
        elif f"message-{reply_id}" in frame:
            found.append(frame)
    return found


async def send_and_see_it_stream(socket, post, host: str, conversation: str):
    """Send "Hello A" through host; return the socket's frames once 5 chunks arrived, and the
    reply's id."""
    loop = asyncio.get_running_loop()
    sent = await loop.run_in_executor(
        None, post, host, f"/c/{conversation}/messages/", {"content": "Hello A"}
    )
    assert sent.status_code in (200, 302), sent.text[:500]
    frames = []
    while sum(" chunk" in f for f in frames) < 5:
        frames.append(await asyncio.wait_for(socket.recv(), 10))
    reply_id = next(match.group(1) for f in frames if (match := IN_PROGRESS.search(f)))
    return frames, reply_id


@pytest.fixture
def two_servers(shared_env):
    """Start daphne processes A and B; yield their base URLs."""
    processes, urls = [], []
    daphne = str(Path(sys.executable).with_name("daphne"))
    for _ in range(2):
        port = free_port()
        process = subprocess.Popen(
            [daphne, "-b", "127.0.0.1", "-p", str(port), "chatbot.asgi:application"],
            env=shared_env,
            cwd=BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(process)
        wait_for_port(port, process)
        urls.append(f"127.0.0.1:{port}")
    servers = Servers(urls)
    servers.processes = processes
    yield servers
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for name, process in zip("AB", processes, strict=True):
        try:
            output, _ = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        # Shown by pytest when the test fails.
        print(f"--- daphne {name} ---\n{output}")


def test_stream_started_on_one_process_reaches_and_is_stopped_through_another(
    shared_env, two_servers, fake_openai
):

    host_a, host_b = two_servers
    world = json.loads(manage(shared_env, "shell", "-c", SETUP).strip().splitlines()[-1])
    conversation = world["conversation"]
    fake_openai.tokens = [f" chunk{i}" for i in range(400)]
    fake_openai.token_delay = 0.01

    post = functools.partial(browser_post, world["session"], conversation)

    async def scenario() -> tuple[list[str], str]:
        async with watch(host_b, conversation, world["session"]) as socket_b:
            loop = asyncio.get_running_loop()
            frames, reply_id = await send_and_see_it_stream(socket_b, post, host_a, conversation)
            stopped = await loop.run_in_executor(None, post, host_b, f"/c/{conversation}/stop/", {})
            assert stopped.status_code in (204, 302), stopped.text[:500]
            while 'data-status="stopped"' not in frames[-1]:
                frames.append(await asyncio.wait_for(socket_b.recv(), 10))
            return frames, reply_id

    frames, reply_id = asyncio.run(scenario())
    stored = json.loads(manage(shared_env, "shell", "-c", READ % reply_id).splitlines()[-1])
    assert stored["status"] == "stopped"
    # The stream really was cut short, and B's client saw it grow live.
    assert 0 < len(stored["content"]) < len(fake_openai.reply)
    assert fake_openai.reply.startswith(stored["content"])
    live = frames_of(frames, reply_id)
    assert len(live) >= 3
    assert "Hello A" in frames[0] or any("Hello A" in f for f in frames)


def test_stop_after_the_engine_process_was_killed_takes_effect_at_once(
    shared_env, two_servers, fake_openai
):
    """Kill A (SIGKILL) mid-reply; Stop through B ends the reply within a second, text kept."""
    host_a, host_b = two_servers
    world = json.loads(manage(shared_env, "shell", "-c", SETUP).strip().splitlines()[-1])
    conversation = world["conversation"]
    fake_openai.tokens = [f" chunk{i}" for i in range(2000)]
    fake_openai.token_delay = 0.01

    post = functools.partial(browser_post, world["session"], conversation)

    async def scenario() -> tuple[str, float]:
        async with watch(host_b, conversation, world["session"]) as socket_b:
            loop = asyncio.get_running_loop()
            frames, reply_id = await send_and_see_it_stream(socket_b, post, host_a, conversation)
            two_servers.processes[0].kill()  # A dies mid-reply: no engine is left to obey Stop
            await loop.run_in_executor(None, two_servers.processes[0].wait)
            started = time.monotonic()
            stopped = await loop.run_in_executor(None, post, host_b, f"/c/{conversation}/stop/", {})
            assert stopped.status_code in (204, 302), stopped.text[:500]
            while 'data-status="stopped"' not in frames[-1]:
                frames.append(await asyncio.wait_for(socket_b.recv(), 10))
            return reply_id, time.monotonic() - started

    reply_id, latency = asyncio.run(scenario())
    assert latency < 1, f"Stop took {latency:.2f} s"
    stored = json.loads(manage(shared_env, "shell", "-c", READ % reply_id).splitlines()[-1])
    assert stored["status"] == "stopped"
    assert " chunk4" in stored["content"]  # the text so far is kept
    # And the conversation takes a new message through B at once.
    again = post(host_b, f"/c/{conversation}/messages/", {"content": "Still there?"})
    assert again.status_code in (200, 302), again.text[:500]
    print(f"Stop after SIGKILL of the engine's process: {latency * 1000:.0f} ms")


@pytest.fixture
def production_layout(shared_env):
    """The README's production layout: gunicorn (HTTP), daphne (websockets), run_engine.

    Yields (gunicorn host, daphne host, the engine process).
    """
    env = shared_env | {"ENGINE_QUEUE": "1"}
    bin_dir = Path(sys.executable).parent
    http_port, ws_port = free_port(), free_port()
    commands = {
        "gunicorn": [str(bin_dir / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{http_port}",
                     "chatbot.wsgi:application"],
        "daphne": [str(bin_dir / "daphne"), "-b", "127.0.0.1", "-p", str(ws_port),
                   "chatbot.asgi:application"],
        "engine": [sys.executable, str(BASE_DIR / "manage.py"), "run_engine", "--grace", "5"],
    }  # fmt: skip
    processes = {
        name: subprocess.Popen(
            command,
            env=env,
            cwd=BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for name, command in commands.items()
    }
    wait_for_port(http_port, processes["gunicorn"])
    wait_for_port(ws_port, processes["daphne"])
    yield f"127.0.0.1:{http_port}", f"127.0.0.1:{ws_port}", processes["engine"]
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    for name, process in processes.items():
        try:
            output, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        print(f"--- {name} ---\n{output}")


def test_production_layout_streams_a_send_made_on_gunicorn_and_stops_it_there(
    shared_env, production_layout, fake_openai
):
    """A send on a WSGI worker returns at once; run_engine generates the reply, a socket on
    daphne sees it stream, and Stop through gunicorn stops it."""
    http, ws, _engine = production_layout
    world = json.loads(manage(shared_env, "shell", "-c", SETUP).strip().splitlines()[-1])
    conversation = world["conversation"]
    fake_openai.tokens = [f" chunk{i}" for i in range(400)]
    fake_openai.token_delay = 0.01
    post = functools.partial(browser_post, world["session"], conversation)

    async def scenario():
        async with watch(ws, conversation, world["session"]) as socket:
            loop = asyncio.get_running_loop()
            started = time.monotonic()
            frames, reply_id = await send_and_see_it_stream(socket, post, http, conversation)
            stopped = await loop.run_in_executor(None, post, http, f"/c/{conversation}/stop/", {})
            assert stopped.status_code in (204, 302), stopped.text[:500]
            while 'data-status="stopped"' not in frames[-1]:
                frames.append(await asyncio.wait_for(socket.recv(), 10))
            return frames, reply_id, time.monotonic() - started

    frames, reply_id, elapsed = asyncio.run(scenario())
    stored = json.loads(manage(shared_env, "shell", "-c", READ % reply_id).splitlines()[-1])
    assert stored["status"] == "stopped"
    # The reply (4 s of tokens) was cut short: the send did not run it in the worker.
    assert 0 < len(stored["content"]) < len(fake_openai.reply)
    print(f"send, stream and stop through the layout: {elapsed:.2f} s")
    assert len(frames_of(frames, reply_id)) >= 3


def test_run_engine_finishes_running_replies_on_sigterm(shared_env, production_layout, fake_openai):
    """SIGTERM lets a running reply finish (within --grace) before the engine exits."""
    http, _ws, engine = production_layout
    world = json.loads(manage(shared_env, "shell", "-c", SETUP).strip().splitlines()[-1])
    conversation = world["conversation"]
    fake_openai.tokens = [f" chunk{i}" for i in range(60)]
    fake_openai.token_delay = 0.02  # about 1.2 s, well within the 5 s grace
    sent = browser_post(
        world["session"], conversation, http, f"/c/{conversation}/messages/", {"content": "Hi"}
    )
    assert sent.status_code in (200, 302), sent.text[:500]
    deadline = time.monotonic() + 10
    while not fake_openai.streams_started and time.monotonic() < deadline:
        time.sleep(0.02)  # the engine has taken it
    engine.terminate()
    output, _ = engine.communicate(timeout=15)
    assert engine.returncode == 0, output
    assert "after starting 1 reply" in output
    last = manage(shared_env, "shell", "-c", LAST_REPLY % conversation)
    stored = json.loads(last.splitlines()[-1])
    assert stored["status"] == "completed"
    assert stored["content"] == fake_openai.reply
