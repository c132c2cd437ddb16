"""Benchmark: concurrent reply streams through daphne (one process, or more) to websocket clients.

The fake OpenAI-format upstream (tests/fake_openai.py) runs in this process and stamps the
moment it writes each token; the websocket clients run in a process of their own and stamp
the moment a frame first shows it (one system-wide monotonic clock), so the difference is
what the app adds. The upstream holds every first token until all replies of a round have
started, so they stream at the same moment.

    .venv/bin/python bench/streams.py                      # 1, 100, 300 streams + 2,000 idle
    .venv/bin/python bench/streams.py --streams 1,10 --idle 200 --tokens 20
    .venv/bin/python bench/streams.py --servers 1,2 --redis redis://127.0.0.1:6379/0

With --servers 1,2 the rounds run on one daphne process, then again on two (Redis between
them): stream i is started by a POST to process i mod n and watched by a socket on the
next process, so every frame crosses from one process to another. The CPU of the servers,
the bench process (the upstream and the POSTs), the load clients, Redis and PostgreSQL is
reported for each round: where the cores went.

It uses a scratch SQLite file (or DATABASE_URL if set: point it at a scratch database) and
the in-memory channel layer, or Redis with --redis. Prints a Markdown table.
"""

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.servers import free_port, server_env, wait_for  # noqa: E402

TOKEN = re.compile(r"\bt(\d+)\b")
FINAL = re.compile(r'data-status="(completed|stopped|incomplete|failed)"')
WRITES = re.compile(r"ended (\w+): \d+ chars, (\d+) database writes")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_split(pid: int) -> tuple[float, float]:
    """Return the process's (user, system) CPU seconds so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    return sum(cpu_split(pid))


def cpu_of(name: str) -> float:
    """Return the CPU seconds so far of every process whose command is `name` (0 if none)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text[text.index("(") + 1 : text.rindex(")")] == name:
            with contextlib.suppress(OSError, IndexError, ValueError):
                total += cpu_seconds(int(stat.parent.name))
    return total


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Bench:
    def __init__(self, args):
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-streams-"))
        self.servers: list[tuple[int, subprocess.Popen, Path]] = []

    # Setup ---------------------------------------------------------------------------------

    def setup(self) -> None:
        from tests.fake_openai import FakeOpenAI

        self.fake = FakeOpenAI()
        self.fake.tokens = [f" t{i}" for i in range(self.args.tokens)]
        self.fake.token_delay = self.args.token_delay
        self.fake.token_times = {}
        env = server_env(
            drop=("REDIS", "OPENAI"),
            DJANGO_SETTINGS_MODULE="chatbot.settings",
            SESSION_COOKIE_SECURE="False",
            CSRF_COOKIE_SECURE="False",
            OPENAI_API_KEY="sk-bench",
            OPENAI_BASE_URL=self.fake.base_url,
            CHAT_MODELS="bench-model",
            TITLE_MODEL="bench-model",
            LOG_LEVEL="INFO",
        )
        if self.args.redis:
            env["REDIS_URL"] = self.args.redis
            env["REDIS_PREFIX"] = f"bench-{os.getpid()}"
        if not env.get("DATABASE_URL"):
            env["SQLITE_PATH"] = str(self.workdir / "db.sqlite3")
        self.env = env
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        self.make_world()

    def make_world(self) -> None:
        """One user per stream (as in real life) and one user holding the idle sockets."""
        from django.contrib.auth import (
            BACKEND_SESSION_KEY,
            HASH_SESSION_KEY,
            SESSION_KEY,
            get_user_model,
        )
        from django.contrib.sessions.backends.db import SessionStore

        from conversations.models import Conversation

        run = os.getpid()
        count = max(self.args.streams)
        User = get_user_model()
        users = User.objects.bulk_create(
            [User(username=f"bench{run}-{i}", password="!") for i in range(count + 1)]
        )

        def session_for(user) -> str:
            store = SessionStore()
            store[SESSION_KEY] = str(user.pk)
            store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            store[HASH_SESSION_KEY] = user.get_session_auth_hash()
            store.create()
            return store.session_key

        self.session = session_for(users[-1])
        self.streamers = []
        for user in users[:count]:
            conversation = Conversation.objects.create(owner=user, title="Bench")
            self.streamers.append((conversation.public_id, session_for(user)))
        self.conversations = [Conversation.objects.create(owner=users[-1], title="Idle").public_id]

    def start_servers(self, count: int) -> None:
        daphne = str(Path(sys.executable).with_name("daphne"))
        self.logs = []
        for n in range(count):
            port, log_path = free_port(), self.workdir / f"daphne-{count}-{n}.log"
            self.logs.append(open(log_path, "w"))  # noqa: SIM115 - closed in stop_servers
            server = subprocess.Popen(
                [daphne, "-b", "127.0.0.1", "-p", str(port), "chatbot.asgi:application"],
                env=self.env,
                cwd=BASE_DIR,
                stdout=self.logs[-1],
                stderr=subprocess.STDOUT,
            )
            self.servers.append((port, server, log_path))
        for port, server, log_path in self.servers:
            wait_for(port, server, log=f"(see {log_path})")
        import requests

        http = requests.Session()
        http.cookies.set("sessionid", self.session)
        for port, _, _ in self.servers:
            http.get(f"http://127.0.0.1:{port}/", timeout=30)
        self.csrf = http.cookies.get("csrftoken", "")

    @property
    def port(self) -> int:
        return self.servers[0][0]

    @property
    def pids(self) -> list[int]:
        return [server.pid for _, server, _ in self.servers]

    def stop_servers(self) -> None:
        for _, server, _ in self.servers:
            server.terminate()
        for _, server, _ in self.servers:
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
        for log in self.logs:
            log.close()
        self.servers = []

    # Clients -------------------------------------------------------------------------------

    def post(self, path: str, data: dict, session: str = "", port: int = 0) -> int:
        import requests

        response = requests.post(
            f"http://127.0.0.1:{port or self.port}{path}",
            data=data,
            cookies={"sessionid": session or self.session, "csrftoken": self.csrf},
            headers={"X-CSRFToken": self.csrf},
            allow_redirects=False,
            timeout=120,
        )
        return response.status_code

    # Scenarios -----------------------------------------------------------------------------

    async def streams(self, count: int, round_id: int) -> dict:
        conversations = [public_id for public_id, _ in self.streamers[:count]]
        sessions = [session for _, session in self.streamers[:count]]
        ports = [port for port, _, _ in self.servers]
        # Stream i starts on server i mod n and is watched from the next one.
        post_ports = [ports[i % len(ports)] for i in range(count)]
        watch_ports = [ports[(i + 1) % len(ports)] for i in range(count)]
        rss_before = sum(rss_kib(pid) for pid in self.pids)
        # The websocket clients run in a process of their own: the upstream's threads here
        # must not delay the moment a client sees a frame.
        watcher, results = await start_clients(
            watch_replies,
            watch_ports,
            [f"/ws/chat/{public_id}/" for public_id in conversations],
            sessions,
            self.args.round_timeout,
        )
        loop = asyncio.get_running_loop()
        rss_connected = sum(rss_kib(pid) for pid in self.pids)
        log_offsets = [log_path.stat().st_size for _, _, log_path in self.servers]
        tags = [f"bench r{round_id} s{i}" for i in range(count)]
        # Every reply streams at the same moment: the upstream holds each first token until
        # all are open, so starting them (one POST each) does not spread them out.
        self.fake.streams_started = 0
        self.fake.start_together = count
        server_splits = [cpu_split(pid) for pid in self.pids]
        bench_cpu = time.process_time()
        services_cpu = {name: cpu_of(name) for name in ("redis-server", "postgres")}
        started = time.monotonic()
        with ThreadPoolExecutor(32) as pool:
            posted = await asyncio.gather(
                *(
                    loop.run_in_executor(
                        pool,
                        self.post,
                        f"/c/{public_id}/messages/",
                        {"content": tag},
                        session,
                        port,
                    )
                    for public_id, tag, session, port in zip(
                        conversations, tags, sessions, post_ports, strict=True
                    )
                )
            )
        posted_at = time.monotonic()
        spy = None
        if self.args.profile and count == max(self.args.streams):
            # The server while the replies stream (py-spy, not a dependency of the project).
            spy = subprocess.Popen(
                [self.args.profile, "record", "-p", str(self.pids[0]), "-d", "3", "-r",
                 "200", "--gil", "--format", "raw", "-o",
                 str(self.workdir / f"spy-{count}.txt")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        received, watcher_cpu = await loop.run_in_executor(None, results.recv)
        elapsed = time.monotonic() - started
        watcher.join(30)
        if spy is not None:
            spy.wait()
            print(f"profile: {self.workdir / f'spy-{count}.txt'}", file=sys.stderr)
        per_server = [
            cpu_seconds(pid) - sum(split)
            for pid, split in zip(self.pids, server_splits, strict=True)
        ]
        server_cpu = sum(per_server)
        server_sys = sum(
            cpu_split(pid)[1] - split[1]
            for pid, split in zip(self.pids, server_splits, strict=True)
        )
        bench_cpu = time.process_time() - bench_cpu
        services = {name: cpu_of(name) - before for name, before in services_cpu.items()}
        peak_rss = sum(rss_kib(pid) for pid in self.pids)
        await asyncio.sleep(0.5)

        per_token, first_token, frames_per_reply, finished = [], [], [], 0
        byte_ratios = []
        for i, tag in enumerate(tags):
            sent = self.fake.token_times.get(tag, [])
            seen = -1
            reply_frames = 0
            reply_bytes = 0
            for at, top, final, size in received[i]:
                if top < 0:
                    continue
                reply_frames += 1
                reply_bytes += size
                if final:
                    byte_ratios.append(reply_bytes / size)
                for j in range(seen + 1, min(top, len(sent) - 1) + 1):
                    per_token.append(at - sent[j])
                    if j == 0:
                        first_token.append(at - sent[0])
                seen = max(seen, top)
                if final:
                    finished += 1
            frames_per_reply.append(reply_frames)
        writes = self.writes_since(log_offsets)
        # How many replies were streaming at once: the most upstream streams overlapping.
        spans = [(t[0], t[-1]) for t in (self.fake.token_times.get(tag) for tag in tags) if t]
        edges = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
        at_once = peak = 0
        for _, step in edges:
            at_once += step
            peak = max(peak, at_once)
        return {
            "servers": len(self.servers),
            "streams": count,
            "peak_at_once": peak,
            "post_s": posted_at - started,
            "posted_ok": sum(code in (200, 302) for code in posted),
            "finished": finished,
            "elapsed": elapsed,
            "token_p50": pct(per_token, 50) * 1000,
            "token_p99": pct(per_token, 99) * 1000,
            "ttft_p50": pct(first_token, 50) * 1000,
            "ttft_p99": pct(first_token, 99) * 1000,
            "frames": statistics.mean(frames_per_reply) if frames_per_reply else 0,
            "writes": statistics.mean(writes) if writes else float("nan"),
            "kib_per_conn": (rss_connected - rss_before) / count,
            "peak_rss_mib": peak_rss / 1024,
            "bytes_x_final": statistics.mean(byte_ratios) if byte_ratios else float("nan"),
            "server_cpu_s": server_cpu,
            "server_sys_s": server_sys,
            "server_us_per_token": server_cpu / (count * self.args.tokens) * 1e6,
            "per_server_cpu_s": per_server,
            "client_cpu_s": bench_cpu + watcher_cpu,
            "bench_cpu_s": bench_cpu,
            "watcher_cpu_s": watcher_cpu,
            "redis_cpu_s": services["redis-server"],
            "postgres_cpu_s": services["postgres"],
        }

    def writes_since(self, offsets: list[int]) -> list[int]:
        time.sleep(0.5)
        writes = []
        for (_, _, log_path), offset in zip(self.servers, offsets, strict=True):
            with open(log_path) as log:
                log.seek(offset)
                writes += [int(m.group(2)) for m in WRITES.finditer(log.read())]
        return writes

    async def idle(self, count: int) -> dict:
        """Open `count` idle sockets in a process of their own; time sidebar changes to them all.

        The clients wait on every socket before a change is made and stamp each frame as it
        arrives, so the figure is the server's. The first change is timed, then
        --fanouts more (the pin toggled each time); the server's and the clients' CPU for
        each are reported too.
        """
        server = self.pids[0]
        rss_before = rss_kib(server)
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        holder, pipe = await start_clients(hold_idle, self.port, count, self.session)
        connect_time = time.monotonic() - started
        await asyncio.sleep(self.args.idle_seconds)
        rss_after = rss_kib(server)
        pipe.send("count")
        open_now = await loop.run_in_executor(None, pipe.recv)
        changes = []
        for i in range(1 + self.args.fanouts):
            pipe.send("listen")
            await loop.run_in_executor(None, pipe.recv)  # every socket is waiting
            server_cpu = cpu_seconds(server)
            fan_start = time.monotonic()
            # One sidebar change fans out to every socket of the user.
            await loop.run_in_executor(
                None,
                self.post,
                f"/c/{self.conversations[0]}/pin/",
                {"pinned": "" if i % 2 else "1"},
            )
            arrivals, client_cpu = await loop.run_in_executor(None, pipe.recv)
            delays = [at - fan_start for at in arrivals]
            changes.append(
                {
                    "reached": len(delays),
                    "p50_ms": pct(delays, 50) * 1000,
                    "max_ms": max(delays) * 1000 if delays else float("nan"),
                    "server_cpu_ms": (cpu_seconds(server) - server_cpu) * 1000,
                    "client_cpu_ms": client_cpu * 1000,
                }
            )
        pipe.send("close")
        await loop.run_in_executor(None, holder.join, 60)
        return {
            "sockets": count,
            "open_after_idle": open_now,
            "connect_s": connect_time,
            "kib_per_conn": (rss_after - rss_before) / count,
            "rss_mib": rss_after / 1024,
            "changes": changes,
        }


async def start_clients(target, *args):
    """Run target(*args, pipe) in a process of its own; return (process, pipe) once it connected.

    The load clients never share a process with the upstream or each other's rounds, and
    `target` sends "connected" on the pipe once its websockets are open.
    """
    context = multiprocessing.get_context("spawn")
    pipe, child_end = context.Pipe()
    process = context.Process(target=target, args=(*args, child_end))
    process.start()
    if await asyncio.get_running_loop().run_in_executor(None, pipe.recv) != "connected":
        raise SystemExit("the websocket clients could not connect")
    return process, pipe


async def open_websockets(ports: list[int], paths: list[str], sessions: list[str]) -> list:
    """Open one websocket per (port, path, session), at most 50 handshakes at a time."""
    import websockets

    gate = asyncio.Semaphore(50)

    async def one(port: int, path: str, session: str):
        async with gate:
            return await websockets.connect(
                f"ws://127.0.0.1:{port}{path}",
                origin=f"http://127.0.0.1:{port}",
                additional_headers={"Cookie": f"sessionid={session}"},
                ping_interval=None,
                open_timeout=60,
                max_size=None,
            )

    return await asyncio.gather(*(one(*args) for args in zip(ports, paths, sessions, strict=True)))


def hold_idle(port: int, count: int, session: str, pipe) -> None:
    """Hold `count` idle sockets of the session (in a process of their own) for Bench.idle.

    Answers "count" with how many are open; on "listen" waits for a frame on every socket,
    says "listening", then sends the arrival times and this process's CPU seconds meanwhile;
    "close" closes them. The objects of 2,000 sockets are frozen out of this process's
    garbage collector once they are open: a full collection here took half a second, and
    it is the load generator's, not the server's.
    """
    import gc

    async def main():
        sockets = await open_websockets([port] * count, ["/ws/chat/"] * count, [session] * count)
        gc.collect()
        gc.freeze()
        loop = asyncio.get_running_loop()
        pipe.send("connected")

        async def arrival(ws) -> float | None:
            try:
                await asyncio.wait_for(ws.recv(), 60)
            except Exception:  # noqa: BLE001 - a socket that got nothing in time, or closed
                return None
            return time.monotonic()

        async def drain(ws) -> None:
            with contextlib.suppress(TimeoutError):
                while True:
                    await asyncio.wait_for(ws.recv(), 0.3)

        while (command := await loop.run_in_executor(None, pipe.recv)) != "close":
            if command == "count":
                pipe.send(sum(ws.state.name == "OPEN" for ws in sockets))
                continue
            cpu = time.process_time()
            waits = asyncio.gather(*(arrival(ws) for ws in sockets))
            await asyncio.sleep(0)  # every wait has started
            pipe.send("listening")
            arrivals = [at for at in await waits if at is not None]
            cpu = time.process_time() - cpu
            # Anything else the change sent, so the next change's first frame is its own.
            await asyncio.gather(*(drain(ws) for ws in sockets))
            pipe.send((arrivals, cpu))
        for ws in sockets:
            await ws.close()

    asyncio.run(main())


def watch_replies(ports: list[int], paths: list[str], sessions: list[str], timeout, results):
    """Open one websocket per path (in a process of its own) and record every frame's arrival.

    Sends "connected", then per socket [(monotonic time, highest token shown or -1, whether
    it is the final frame, bytes)], and this process's CPU seconds while listening.
    """

    async def main():
        sockets = await open_websockets(ports, paths, sessions)
        received: list[list[tuple]] = [[] for _ in sockets]

        async def listen(i: int, ws) -> None:
            while True:
                frame = await ws.recv()
                at = time.monotonic()
                numbers = TOKEN.findall(frame)
                final = bool(FINAL.search(frame))
                top = max(int(n) for n in numbers) if numbers else -1
                received[i].append((at, top, final, len(frame.encode())))
                if numbers and final:
                    return

        results.send("connected")
        cpu = time.process_time()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(listen(i, ws) for i, ws in enumerate(sockets))), timeout
            )
        cpu = time.process_time() - cpu
        for ws in sockets:
            await ws.close()
        return received, cpu

    results.send(asyncio.run(main()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", default="1,100,300")
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--idle-seconds", type=float, default=10)
    parser.add_argument("--fanouts", type=int, default=3, help="sidebar changes after the first")
    parser.add_argument("--tokens", type=int, default=60)
    parser.add_argument("--redis", default="", help="REDIS_URL for the server (else in-memory)")
    parser.add_argument("--token-delay", type=float, default=0.02)
    parser.add_argument("--profile", default="", help="py-spy's path: profile the largest round")
    parser.add_argument("--round-timeout", type=float, default=180)
    parser.add_argument("--servers", default="1", help="daphne processes per run, e.g. 1,2")
    args = parser.parse_args()
    args.streams = [int(n) for n in args.streams.split(",") if n]
    args.servers = [int(n) for n in args.servers.split(",") if n]
    if max(args.servers) > 1 and not args.redis:
        parser.error("more than one server needs --redis (the processes share the layer)")

    bench = Bench(args)
    bench.setup()
    rows, idle = [], None
    try:
        for count in args.servers:
            bench.start_servers(count)
            try:
                # One unmeasured reply first: lazy imports (and, without .pyc files,
                # compiling them) would otherwise land in the first measured round.
                asyncio.run(bench.streams(1, 1000 + count))
                for i, n in enumerate(args.streams):
                    rows.append(asyncio.run(bench.streams(n, count * 100 + i)))
                if args.idle and idle is None:
                    idle = asyncio.run(bench.idle(args.idle))
            finally:
                bench.stop_servers()
    finally:
        bench.fake.close()

    print(
        f"\nUpstream: {args.tokens} tokens per reply, one every {args.token_delay * 1000:g} ms. "
        f"daphne processes: {', '.join(map(str, args.servers))}; "
        f"{'Redis' if args.redis else 'in-memory'} channel layer, {os.cpu_count()} CPUs.\n"
    )
    print(
        "| servers | streams | streaming at once | all sent in (s) | finished "
        "| per-token added p50 / p99 (ms) | first token added p50 / p99 "
        "(ms) | frames per reply | DB writes per reply | RSS per connection (KiB) | wall (s) "
        "| bytes per reply / final HTML | server CPU s (system; µs per token) "
        "| load generator CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['servers']} | {r['streams']} | {r['peak_at_once']} | {r['post_s']:.1f} | "
            f"{r['finished']}/{r['posted_ok']} | {r['token_p50']:.0f} / "
            f"{r['token_p99']:.0f} | {r['ttft_p50']:.0f} / {r['ttft_p99']:.0f} | "
            f"{r['frames']:.1f} | {r['writes']:.1f} | {r['kib_per_conn']:.0f} | "
            f"{r['elapsed']:.1f} | {r['bytes_x_final']:.2f} | {r['server_cpu_s']:.1f} "
            f"(sys {r['server_sys_s']:.1f}; {r['server_us_per_token']:.0f}) | "
            f"{r['client_cpu_s']:.1f} |"
        )
    print("\nWhere the CPU went in each round (seconds):\n")
    print("| servers | streams | wall | each server | bench (upstream, POSTs) | load clients "
          "| Redis | PostgreSQL | all / (wall x CPUs) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        spent = [*r["per_server_cpu_s"], r["bench_cpu_s"], r["watcher_cpu_s"]]
        spent += [r["redis_cpu_s"], r["postgres_cpu_s"]]
        print(
            f"| {r['servers']} | {r['streams']} | {r['elapsed']:.1f} | "
            f"{' + '.join(f'{c:.1f}' for c in r['per_server_cpu_s'])} | {r['bench_cpu_s']:.1f} "
            f"| {r['watcher_cpu_s']:.1f} | {r['redis_cpu_s']:.1f} | {r['postgres_cpu_s']:.1f} "
            f"| {sum(spent) / (r['elapsed'] * os.cpu_count()):.0%} |"
        )
    if idle:
        print(
            f"\nIdle: {idle['open_after_idle']}/{idle['sockets']} websockets open after "
            f"{args.idle_seconds:g} s idle (connected in {idle['connect_s']:.1f} s), "
            f"{idle['kib_per_conn']:.0f} KiB RSS each, process RSS {idle['rss_mib']:.0f} MiB.\n"
        )
        print("| sidebar change | sockets reached | p50 (ms) | last (ms) | server CPU (ms) "
              "| load clients' CPU (ms) |")  # fmt: skip
        print("|---|---|---|---|---|---|")
        for n, change in enumerate(idle["changes"], 1):
            print(
                f"| {'first' if n == 1 else n} | {change['reached']}/{idle['sockets']} | "
                f"{change['p50_ms']:.0f} | {change['max_ms']:.0f} | "
                f"{change['server_cpu_ms']:.0f} | {change['client_cpu_ms']:.0f} |"
            )


if __name__ == "__main__":
    main()
