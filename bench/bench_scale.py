"""A task run in the distributed mode (Celery over Redis, PostgreSQL store): 1 worker vs 2.

The 1000-tag fleet of ``bench_wan.py`` (40 repositories of 25 tags) sits in a
loopback registry behind a link emulator (``bench/link.py``, ``--link region``:
20 ms one way, 1 Gbit/s); the destination, a fresh registry per round, behind
another. For each worker count the bench starts, in temporary directories:
Redis (append-only file on, as in deploy/compose), a PostgreSQL database,
``ferry serve`` with ``FERRY_EXECUTOR=celery`` and that many ``ferry worker``
processes (the command lines of ``tests/fixtures/distributed.py``, which
the compose file runs too). It creates a ONE_TIME task naming every tag and
times the run from the task's creation to its DONE.

``--workers local,...`` adds the embedded default (``FERRY_EXECUTOR=local``,
no Redis involved) on the same PostgreSQL store, as the baseline.

Reported per worker count: wall time and images per second, and how much of
it was planning (listing, selecting, queueing the batches); CPU seconds of
each process (the server, the workers, Redis, PostgreSQL with its backends,
the registries, the links); the broker's and the store's share of all that
CPU; Redis commands and PostgreSQL transactions the run cost.

On a 2-core machine two workers cannot be twice as fast when the copy is
CPU-bound: the table says where the CPU went, which is the point.

Usage::

    .venv/bin/python bench/bench_scale.py                 # 1 and 2 workers, region link
    .venv/bin/python bench/bench_scale.py --workers local,1,2,1x4
    .venv/bin/python bench/bench_scale.py --workers 1,2,4 --concurrency 2 --batch-size 25

Results: a table on stdout and JSON in bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bench_wan import ACCESS_LOG, PROFILES, Profile, linked, process_cpu, unique_bytes
from services import PostgresServer, RedisServer, database, postgres, redis

from fixtures.distributed import SERVE_ARGS, worker_args
from imageferry.sandbox import LocalRegistry
from imageferry.sandbox.images import build_fleet

FERRY = str(Path(sys.executable).parent / "ferry")
RESULTS = Path(__file__).parent / "results"
FINISHED = {"DONE", "ERROR", "STOPPED"}
PROCESSES = ("server", "workers", "redis", "postgres", "registries", "links")


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its children it waited for, and its live descendants.

    PostgreSQL's backends come and go with connections: their time lands in the
    postmaster's children times when they exit, and is read live while they run.
    """
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat(int(entry.name))[1]), []).append(int(entry.name))
            except (OSError, IndexError):
                continue
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = _stat(current)
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15]) / tick
        todo.extend(children.get(current, []))
    return total


def postmaster_pid(server: PostgresServer) -> int:
    return int((server.root / "data" / "postmaster.pid").read_text().split()[0])


def redis_counters(server: RedisServer) -> dict[str, int]:
    info = server.client().info()
    return {"commands": int(info["total_commands_processed"]), "memory": int(info["used_memory"])}


def pg_transactions(server: PostgresServer, url: str) -> int:
    name = url.rsplit("/", 1)[1]
    with server.connect() as db:
        row = db.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", (name,)
        ).fetchone()
    return int(row[0]) if row else 0


class Process:
    """A ``ferry`` subprocess with its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [FERRY, *args], env=env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-1500:]


@contextmanager
def cluster(
    workers: int,
    concurrency: int,
    args: argparse.Namespace,
    redis_server: RedisServer,
    pg: PostgresServer,
    work: Path,
) -> Iterator[tuple[httpx.Client, Process, list[Process], str]]:
    """``ferry serve`` and ``workers`` ``ferry worker``s on a fresh database and data dir."""
    url = database(pg)
    redis_server.client().flushall()
    port = _free_port()
    env = {
        **os.environ,
        # No workers: the embedded default on the same store, the baseline.
        "FERRY_EXECUTOR": "celery" if workers else "local",
        "FERRY_BROKER_URL": redis_server.url(),
        "FERRY_DATABASE_URL": url,
        "FERRY_DATA_DIR": str(work / "data"),
        "FERRY_SECRET_BACKEND": "local",
        "FERRY_BATCH_SIZE": str(args.batch_size),
        "FERRY_PORT": str(port),
        "FERRY_ADMIN_PASSWORD": "bench-only-password",
    }
    made = subprocess.run(
        [FERRY, "serve", "--create-token", "bench"], env=env, capture_output=True, text=True
    )
    if made.returncode:
        raise SystemExit(f"ferry serve --create-token failed: {made.stderr[-800:]}")
    token = made.stdout.strip().splitlines()[-1]
    server = Process(SERVE_ARGS, env, work / "serve.log")
    started: list[Process] = []
    try:
        for i in range(workers):
            argv = worker_args(concurrency, hostname=f"w{i + 1}@bench")
            started.append(Process(argv, env, work / f"worker{i + 1}.log"))
        base = f"http://127.0.0.1:{port}/api"
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            _wait_answers(client, server)
            yield client, server, started, url
    finally:
        for process in [*started, server]:
            process.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_answers(client: httpx.Client, server: Process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise SystemExit(f"ferry serve exited:\n{server.tail()}")
        try:
            if client.get("/tasks").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"ferry serve did not answer:\n{server.tail()}")


def run_task(
    client: httpx.Client, refs: list[str], src: str, dst: str, args: argparse.Namespace
) -> dict[str, Any]:
    """Create the task (a ONE_TIME task starts at once) and wait for its run's end."""
    parameters = {
        "sourceType": "Public",
        "srcRegistry": src,
        "srcList": "SELECTED",
        "srcImageList": ",".join(refs),
        "destRegistry": dst,
        "scheduleType": "ONE_TIME",
        "concurrency": str(args.task_concurrency),
    }
    created = client.post("/tasks", json={"parameters": parameters, "name": "scale"})
    created.raise_for_status()
    task_id = created.json()["id"]
    client.post(f"/tasks/{task_id}/start")  # 409 when the scheduler started it first
    deadline = time.monotonic() + args.timeout
    seen: dict[str, Any] = {}
    while time.monotonic() < deadline:
        runs = client.get(f"/tasks/{task_id}").json()["runs"]
        if runs and runs[0]["status"] in FINISHED:
            return {**runs[0], "seen": seen}
        if not seen and runs and runs[0]["images_done"]:
            seen = glimpse(client)
        time.sleep(1.0)
    raise SystemExit(f"the run did not end within {args.timeout} s")


def glimpse(client: httpx.Client) -> dict[str, Any]:
    """What the console's Workers view and ``/metrics`` say once copying has begun."""
    workers = client.get("/workers")
    if workers.status_code != 200:  # the embedded default has none
        return {"workers": None}
    body = workers.json()
    metrics = client.get(client.base_url.join("/metrics"))
    gauges = [
        line
        for line in metrics.text.splitlines()
        if line.startswith(("ferry_queue_depth", "ferry_units_in_flight", "ferry_worker_up"))
    ]
    return {
        "workers": {w["name"]: w["units_in_flight"] for w in body["workers"] if w["alive"]},
        "queues": body["queues"],
        "gauges": gauges,
    }


def planning_seconds(client: httpx.Client, run: dict[str, Any]) -> float | None:
    """From the run's start to its log line saying the batches were queued (celery mode)."""
    lines = client.get(f"/runs/{run['id']}/logs", params={"limit": 5000}).json()["items"]
    queued = [line["ts"] for line in lines if "queued for the workers" in line["message"]]
    if not queued or not run.get("started_at"):
        return None
    return round((_moment(queued[0]) - _moment(run["started_at"])).total_seconds(), 2)


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def measure(
    workers: int,
    concurrency: int,
    refs: list[str],
    source: LocalRegistry,
    profile: Profile,
    redis_server: RedisServer,
    pg: PostgresServer,
    args: argparse.Namespace,
) -> dict[str, Any]:
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ferry-scale-")))
        dest = stack.enter_context(LocalRegistry(config_overrides=ACCESS_LOG))
        link_stats: list[dict[str, Any]] = []
        src, dst = stack.enter_context(linked(profile, [source, dest], link_stats))
        client, server, ferry_workers, url = stack.enter_context(
            cluster(workers, concurrency, args, redis_server, pg, work)
        )
        pids = {
            "server": [server.pid],
            "workers": [w.pid for w in ferry_workers],
            "redis": [redis_server.process.pid],
            "postgres": [postmaster_pid(pg)],
        }
        regs = [source.pid, dest.pid]
        cpu_before = {k: sum(tree_cpu(p) for p in v) for k, v in pids.items()}
        regs_before = sum(process_cpu(p) for p in regs)
        redis_before, xacts_before = redis_counters(redis_server), pg_transactions(pg, url)
        started = time.monotonic()
        run = run_task(client, refs, src, dst, args)
        wall = time.monotonic() - started
        planning = planning_seconds(client, run)
        cpu = {k: sum(tree_cpu(p) for p in v) - cpu_before[k] for k, v in pids.items()}
        cpu["registries"] = sum(process_cpu(p) for p in regs) - regs_before
        redis_after, xacts = redis_counters(redis_server), pg_transactions(pg, url) - xacts_before
    cpu["links"] = sum(s["cpu_seconds"] for s in link_stats)
    total = sum(cpu.values())
    result = {
        "workers": workers,
        "concurrency": concurrency,
        "status": run["status"],
        "images_copied": run["images_copied"],
        "images_failed": run["images_failed"],
        "wall": round(wall, 2),
        "images_per_second": round(len(refs) / wall, 1),
        "planning_seconds": planning,
        "seen_while_copying": run["seen"],
        "cpu": {k: round(v, 2) for k, v in cpu.items()},
        "cpu_total": round(total, 2),
        "broker_share": round(cpu["redis"] / total, 3) if total else 0.0,
        "store_share": round(cpu["postgres"] / total, 3) if total else 0.0,
        "redis_commands": redis_after["commands"] - redis_before["commands"],
        "redis_memory_bytes": redis_after["memory"],
        "pg_transactions": xacts,
    }
    print(f"  {_label(result)}: {run['status']} in {wall:.1f} s, {total:.1f} CPU s", flush=True)
    return result


def _round(spec: str, concurrency: int) -> tuple[int, int]:
    """``N`` (workers, the default concurrency), ``NxC``, or ``local`` (0 workers)."""
    if spec == "local":
        return 0, 0
    workers, _, each = spec.partition("x")
    return int(workers), int(each) if each else concurrency


def _label(result: dict[str, Any]) -> str:
    if not result["workers"]:
        return "embedded (local executor)"
    return f"{result['workers']} worker(s) x {result['concurrency']}"


def table(report: dict[str, Any]) -> str:
    rows = report["rounds"]
    head = "| measure | " + " | ".join(_label(r) for r in rows) + " |"
    lines = [head, "|---|" + "---|" * len(rows)]

    def row(label: str, cell: Any) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in rows) + " |")

    row("run", lambda r: f"{r['status']}, {r['images_copied']} copied, {r['images_failed']} failed")
    row("wall", lambda r: f"{r['wall']:.1f} s ({r['images_per_second']} images/s)")
    row(
        "of which planning (list, select, queue)",
        lambda r: "" if r["planning_seconds"] is None else f"{r['planning_seconds']:.1f} s",
    )
    for name in PROCESSES:
        row(f"CPU: {name}", lambda r, n=name: f"{r['cpu'][n]:.1f} s")
    row("CPU: all", lambda r: f"{r['cpu_total']:.1f} s")
    row("broker (Redis) share of CPU", lambda r: f"{100 * r['broker_share']:.1f} %")
    row("store (PostgreSQL) share of CPU", lambda r: f"{100 * r['store_share']:.1f} %")
    row(
        "Redis commands / PostgreSQL transactions",
        lambda r: f"{r['redis_commands']} / {r['pg_transactions']}",
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--link", choices=sorted(PROFILES), default="region")
    parser.add_argument(
        "--workers",
        default="1,2",
        help="worker counts to compare; NxC also sets that round's --concurrency; "
        "local: the embedded default on the same store (e.g. local,1,2,1x4)",
    )
    parser.add_argument("--concurrency", type=int, default=2, help="ferry worker --concurrency")
    parser.add_argument("--batch-size", type=int, default=25, help="FERRY_BATCH_SIZE")
    parser.add_argument("--task-concurrency", type=int, default=10, help="the task's concurrency")
    parser.add_argument("--fleet-mb", type=float, default=200)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    profile = PROFILES[args.link]
    rounds = [_round(spec, args.concurrency) for spec in args.workers.split(",") if spec]
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()},
        "link": {"name": args.link, **profile.__dict__},
        "settings": {k: v for k, v in vars(args).items() if k != "workers"},
    }
    with ExitStack() as stack:
        source = stack.enter_context(LocalRegistry(config_overrides=ACCESS_LOG))
        started = time.monotonic()
        refs = build_fleet(
            source.url, total_mb=args.fleet_mb, repositories=40, tags_per_repository=25
        )
        size = unique_bytes(source)
        print(
            f"fleet: {len(refs)} tags, {size / 1e6:.0f} MB unique, built in "
            f"{time.monotonic() - started:.0f} s; link {args.link}",
            flush=True,
        )
        report["fleet"] = {"tags": len(refs), "unique_bytes": size}
        redis_server = stack.enter_context(redis())
        pg = stack.enter_context(postgres())
        report["rounds"] = [
            measure(n, c, refs, source, profile, redis_server, pg, args) for n, c in rounds
        ]
    report["machine"]["load_after"] = os.getloadavg()
    print()
    print(table(report))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / time.strftime(f"scale-{args.link}-%Y%m%dT%H%M%S.json")
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
