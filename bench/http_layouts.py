"""Benchmark: HTTP on the bare JSON view, server layouts side by side on this machine.

Each layout serves `/bench/bare.json` (bench.settings: the project plus two bench-only URLs,
`DEBUG` off) and `wrk` (Debian's package, a process of its own, its CPU reported) loads it
for `--seconds`; the layouts take turns for `--rounds` rounds, so every one meets the same
machine. The layouts:

- two gunicorn sync workers: the reference the realtime issue names;
- one daphne process, and two daphne processes (wrk's connections split between them);
- the production layout of the README: gunicorn (2 sync workers) for HTTP, beside one daphne
  process for websockets and `manage.py run_engine` for replies, all on one Redis.

    .venv/bin/python bench/http_layouts.py --redis redis://127.0.0.1:6379/0
    .venv/bin/python bench/http_layouts.py --rounds 1 --seconds 5        # a quick look

It uses a scratch SQLite file, or DATABASE_URL if set. Prints a Markdown table.
"""

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.servers import free_port, server_env, wait_for  # noqa: E402

BIN = Path(sys.executable).parent
PATH = "/bench/bare.json"
REQUESTS = re.compile(r"Requests/sec:\s+([\d.]+)")
LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children that have ended (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


class Layout:
    """Server processes started together; `ports` are where HTTP goes."""

    def __init__(self, name: str, commands: list[tuple[list[str], int | None]], env: dict):
        self.name, self.commands, self.env = name, commands, env
        self.processes: list[subprocess.Popen] = []
        self.ports: list[int] = []

    def start(self, workdir: Path) -> None:
        for i, (command, port) in enumerate(self.commands):
            log = open(workdir / f"{self.name[:20].replace(' ', '-')}-{i}.log", "w")  # noqa: SIM115
            self.processes.append(
                subprocess.Popen(command, env=self.env, cwd=BASE_DIR, stdout=log, stderr=log)
            )
            if port is not None:
                self.ports.append(port)
        for process, (_, port) in zip(self.processes, self.commands, strict=True):
            if port is not None:
                wait_for(port, process)
        for port in self.ports:  # one request each: lazy imports are not measured
            subprocess.run(["curl", "-sf", "-o", "/dev/null", f"http://127.0.0.1:{port}{PATH}"],
                           check=True)  # fmt: skip

    def cpu(self) -> float:
        total = 0.0
        for process in self.processes:
            total += cpu_seconds(process.pid)
            for child in (
                Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
            ):
                total += cpu_seconds(int(child))
        return total

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes, self.ports = [], []


def layouts(env: dict, redis: str) -> list[Layout]:
    def gunicorn(port: int, workers: int = 2) -> list[str]:
        return [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
                "--log-level", "warning", "chatbot.wsgi:application"]  # fmt: skip

    def daphne(port: int) -> list[str]:
        return [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "chatbot.asgi:application"]

    found = [
        Layout("two gunicorn sync workers", [(gunicorn(p := free_port()), p)], env),
        Layout("one daphne process", [(daphne(p := free_port()), p)], env),
        Layout(
            "two daphne processes",
            [(daphne(a := free_port()), a), (daphne(b := free_port()), b)],
            env,
        ),  # fmt: skip
    ]
    if redis:
        layout_env = env | {"REDIS_URL": redis, "ENGINE_QUEUE": "1"}
        engine = [sys.executable, str(BASE_DIR / "manage.py"), "run_engine"]
        found.append(
            Layout(
                "production layout: gunicorn 2 workers + daphne + run_engine",
                [(gunicorn(p := free_port()), p), (daphne(free_port()), None), (engine, None)],
                layout_env,
            )
        )
    return found


def load(ports: list[int], seconds: float, connections: int) -> dict:
    """Run wrk against every port at once (connections split); return its figures."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    runs = [
        subprocess.Popen(
            [
                "wrk",
                f"-t{max(1, 2 // len(ports))}",
                f"-c{connections // len(ports)}",
                f"-d{seconds:g}s",
                "--latency",
                f"http://127.0.0.1:{port}{PATH}",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for port in ports
    ]
    outputs = [run.communicate()[0] for run in runs]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rate = sum(float(REQUESTS.search(out).group(1)) for out in outputs)
    latency = {q: [] for q in ("50", "99")}
    for out in outputs:
        for q, value, unit in LATENCY.findall(out):
            latency[q].append(float(value) * UNIT[unit])
    wrk_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"rate": rate, "p50": max(latency["50"]), "p99": max(latency["99"]), "wrk_cpu": wrk_cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="", help="REDIS_URL: adds the production layout")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")

    workdir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    env = server_env(
        drop=("REDIS", "ENGINE"),
        DJANGO_SETTINGS_MODULE="bench.settings",
        REDIS_PREFIX=f"bench-http-{os.getpid()}",
        LOG_LEVEL="WARNING",
    )
    if not env.get("DATABASE_URL"):
        env["SQLITE_PATH"] = str(workdir / "db.sqlite3")
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), "migrate", "-v0"], env=env,
                   cwd=BASE_DIR, check=True)  # fmt: skip

    results: dict[str, list[dict]] = {}
    found = layouts(env, args.redis)
    for _ in range(args.rounds):
        for layout in found:
            layout.start(workdir)
            try:
                cpu = layout.cpu()
                figures = load(layout.ports, args.seconds, args.connections)
                figures["server_cpu"] = layout.cpu() - cpu
            finally:
                layout.stop()
            results.setdefault(layout.name, []).append(figures)

    base = statistics.median(r["rate"] for r in results[found[0].name])
    print(
        f"\n`wrk --latency -c{args.connections}` on {PATH} for {args.seconds:g} s, "
        f"{args.rounds} rounds (median shown; layouts take turns), {os.cpu_count()} CPUs, "
        f"{'PostgreSQL' if env.get('DATABASE_URL') else 'SQLite'}.\n"
    )
    print("| layout | req/s (each round) | vs two gunicorn workers | latency p50 / p99 (ms) "
          "| server CPU s | wrk CPU s |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, rounds in results.items():
        rate = statistics.median(r["rate"] for r in rounds)
        each = ", ".join(f"{r['rate']:.0f}" for r in rounds)
        print(
            f"| {name} | {rate:.0f} ({each}) | {rate / base:.2f}x "
            f"| {statistics.median(r['p50'] for r in rounds):.1f} / "
            f"{statistics.median(r['p99'] for r in rounds):.1f} "
            f"| {statistics.median(r['server_cpu'] for r in rounds):.1f} "
            f"| {statistics.median(r['wrk_cpu'] for r in rounds):.1f} |"
        )


if __name__ == "__main__":
    main()
