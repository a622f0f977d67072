"""``ferry copy`` over an emulated network, side by side with skopeo, as ratios from one run.

Each registry sits behind its own link emulator (``bench/link.py``, one
process per link, its CPU reported) with the profile's delay, bandwidth and
resets; ``--link lan`` talks to the registries directly, as ``bench_copy.py``
does. The source fleet is pushed directly, not through the link.

Peers, each into its own fresh destination registry, in the same run:

- ``ferry``: ``ferry copy --from-file``, a fresh process as a user runs it;
- ``reference``: the reference's way, 10 ``skopeo copy --all`` at once, one per image;
- ``sync``: ``skopeo sync --all`` from a YAML list of the source's tags;
- the link floor: unique bytes / bandwidth + 4 round trips.

Figures: cold (empty destination), warm (nothing changed), one image changed
(a new ``latest`` in one repository), the requests each registry served (its
access log), peak RSS, CPU of the tool, the registries and the links, and
failures (a reset connection may fail an image). Each round copies into fresh
destination registries; each figure is the median round's (``--repeat``).

``--rate-limit N`` puts each registry behind ``bench/ratelimit.py`` as well (a
token bucket of N requests a second answering 429 with ``Retry-After``, and
``RateLimit-Remaining`` unless ``--rate-limit-silent``); the 429s, the longest
run of them in a row and the rate limit's floor are reported.

Usage::

    .venv/bin/python bench/bench_wan.py --link region
    .venv/bin/python bench/bench_wan.py --link border --tags 1000 --peers ferry,reference
    .venv/bin/python bench/bench_wan.py --tags 1000 --peers ferry,reference --rate-limit 100

Results: a table on stdout and JSON in bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync_config import sync_argv

from imageferry.sandbox import LocalRegistry
from imageferry.sandbox.content import make_layer
from imageferry.sandbox.images import build_fleet, push_image

BIN = Path(sys.executable).parent
FERRY = str(BIN / "ferry")
LINK = Path(__file__).with_name("link.py")
LIMITER = Path(__file__).with_name("ratelimit.py")
RESULTS = Path(__file__).parent / "results"
TLS = ["--src-tls-verify=false", "--dest-tls-verify=false"]
PHASES = ("cold", "warm", "changed")
#: The image the "one image changed" phase gives a new ``latest``.
CHANGED_REPO = "team-a/svc/api"
_ACCESS = re.compile(rb'"(GET|HEAD|POST|PUT|PATCH|DELETE) /v2/[^"]* HTTP/[\d.]+" (\d{3})')
#: Our registries log each request; with it off, as in the other tests, nothing to count.
ACCESS_LOG = {"log": {"accesslog": {"disabled": False}}}


@dataclass(frozen=True)
class Profile:
    delay: float  # one way, seconds
    bandwidth: float  # bits per second each way; 0: unlimited
    reset: float  # fraction of connections reset

    @property
    def rtt(self) -> float:
        return 2 * self.delay


PROFILES = {
    "lan": Profile(0.0, 0.0, 0.0),
    "region": Profile(0.020, 1e9, 0.0),
    "border": Profile(0.125, 100e6, 0.01),
}

# A small launcher runs the command as its child and prints the child's peak
# RSS: a child forked from this (large) process would report our own.
_LAUNCHER = (
    "import resource, subprocess, sys; "
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE); "
    "sys.stdout.buffer.write(p.stdout); "
    "print(); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(p.returncode)"
)


@dataclass
class Run:
    """One command's outcome: exit status, output, peak RSS in KiB."""

    returncode: int
    stdout: str
    stderr: str
    rss_kib: int


def launch(argv: Sequence[str], env: dict[str, str] | None = None) -> Run:
    proc = subprocess.run(
        [sys.executable, "-S", "-c", _LAUNCHER, *argv], capture_output=True, text=True, env=env
    )
    out, _, rss = proc.stdout.rstrip().rpartition("\n")
    return Run(proc.returncode, out, proc.stderr, int(rss) if rss.isdigit() else 0)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def requests_served(registry: LocalRegistry) -> Counter[str]:
    """Requests the registry logged so far, by method, and 429s."""
    counts: Counter[str] = Counter()
    for match in _ACCESS.finditer(registry.log_path.read_bytes()):
        counts[match.group(1).decode()] += 1
        if match.group(2) == b"429":
            counts["429"] += 1
    return counts


class Link:
    """A ``link.py`` process in front of one registry."""

    def __init__(self, target: str, profile: Profile, seed: int) -> None:
        argv = [sys.executable, str(LINK), "--target", target, "--delay", str(profile.delay)]
        argv += ["--bandwidth", str(profile.bandwidth), "--reset", str(profile.reset)]
        argv += ["--seed", str(seed)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "listening":
            raise SystemExit(f"link.py did not start: {line}")
        self.host = f"127.0.0.1:{line[1]}"

    def stop(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        return dict(json.loads(out.strip().splitlines()[-1]))


class Limiter:
    """A ``ratelimit.py`` process in front of one registry: 429 beyond ``rate`` requests/s."""

    def __init__(self, target: str, rate: float, silent: bool) -> None:
        argv = [sys.executable, str(LIMITER), "--target", target, "--rate", str(rate)]
        argv += ["--silent"] if silent else []
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "listening":
            raise SystemExit(f"ratelimit.py did not start: {line}")
        self.host = f"127.0.0.1:{line[1]}"

    def stop(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        return dict(json.loads(out.strip().splitlines()[-1]))


@contextmanager
def linked(
    profile: Profile,
    registries: Sequence[LocalRegistry],
    stats: list[dict[str, Any]],
    limits: list[dict[str, Any]],
    rate_limit: float = 0.0,
    silent: bool = False,
) -> Iterator[list[str]]:
    """The hosts to reach ``registries`` at: through a link each, or directly on ``lan``;
    behind a rate limiter each when ``rate_limit`` (requests/s) is set."""
    with ExitStack() as stack:
        targets = [r.host for r in registries]
        if rate_limit:
            limiters = [Limiter(host, rate_limit, silent) for host in targets]
            stack.callback(lambda: limits.extend(limiter.stop() for limiter in limiters))
            targets = [limiter.host for limiter in limiters]
        if not profile.delay and not profile.bandwidth:
            yield targets
            return
        links = [Link(t, profile, seed=i + int(time.time())) for i, t in enumerate(targets)]
        stack.callback(lambda: stats.extend(link.stop() for link in links))
        yield [link.host for link in links]


def unique_bytes(registry: LocalRegistry) -> int:
    """Bytes of every blob and manifest the registry stores, each once."""
    root = registry.data_dir / "docker" / "registry" / "v2" / "blobs"
    return sum(p.stat().st_size for p in root.rglob("data"))


# -- the peers ---------------------------------------------------------------------


def ferry(refs: Sequence[str], src: str, dst: str, work: Path) -> tuple[Run, int]:
    pairs = work / "pairs.txt"
    pairs.write_text("".join(f"{src}/{r} {dst}/{r}\n" for r in refs))
    run = launch([FERRY, "copy", "--from-file", str(pairs), "--output", "json"])
    try:
        failed = sum(1 for i in json.loads(run.stdout)["images"] if i["status"] == "failed")
    except (ValueError, KeyError):
        failed = len(refs) if run.returncode else 0
    return run, failed


def reference(refs: Sequence[str], src: str, dst: str, work: Path) -> tuple[Run, int]:
    """10 ``skopeo copy --all`` at once, one per image; the peak RSS is one process's."""

    def one(ref: str) -> Run:
        return launch(
            [
                "skopeo",
                "copy",
                "--all",
                "--quiet",
                *TLS,
                f"docker://{src}/{ref}",
                f"docker://{dst}/{ref}",
            ]
        )

    with ThreadPoolExecutor(10) as pool:
        runs = list(pool.map(one, refs))
    failed = [r for r in runs if r.returncode]
    worst = failed[0] if failed else runs[0]
    return Run(len(failed), worst.stdout, worst.stderr, max(r.rss_kib for r in runs)), len(failed)


def sync(refs: Sequence[str], src: str, dst: str, work: Path) -> tuple[Run, int]:
    """``skopeo sync --all``; it stops at the first image that fails."""
    run = launch(sync_argv(src, refs, dst, work))
    return run, len(refs) if run.returncode else 0


PEERS: dict[str, Callable[[Sequence[str], str, str, Path], tuple[Run, int]]] = {
    "ferry": ferry,
    "reference": reference,
    "sync": sync,
}
LABELS = {
    "ferry": "ferry copy",
    "reference": "10 x skopeo copy (reference)",
    "sync": "skopeo sync",
}


def measure(
    name: str,
    refs: Sequence[str],
    source: LocalRegistry,
    dest: LocalRegistry,
    profile: Profile,
    work: Path,
    rate_limit: float = 0.0,
    silent: bool = False,
) -> dict[str, Any]:
    """Run one peer through fresh links; wall, CPU, requests, RSS, failures."""
    link_stats: list[dict[str, Any]] = []
    limits: list[dict[str, Any]] = []
    before_req = (requests_served(source), requests_served(dest))
    before_regs = process_cpu(source.pid) + process_cpu(dest.pid)
    linking = linked(profile, [source, dest], link_stats, limits, rate_limit, silent)
    with linking as (src, dst):
        before = os.times()
        started = time.monotonic()
        run, failed = PEERS[name](refs, src, dst, work)
        wall = time.monotonic() - started
        after = os.times()
    src_req = requests_served(source) - before_req[0]
    dst_req = requests_served(dest) - before_req[1]
    result = {
        "wall": round(wall, 3),
        "tool_cpu": round(
            after.children_user
            - before.children_user
            + after.children_system
            - before.children_system,
            3,
        ),
        "registry_cpu": round(process_cpu(source.pid) + process_cpu(dest.pid) - before_regs, 3),
        "link_cpu": round(sum(s["cpu_seconds"] for s in link_stats), 3),
        "link_late_max_ms": max((s["late_max_ms"] for s in link_stats), default=0.0),
        "link_resets": sum(s["resets"] for s in link_stats),
        "requests": {
            "source": sum(src_req.values()) - src_req["429"],
            "destination": sum(dst_req.values()) - dst_req["429"],
        },
        "requests_429": src_req["429"] + dst_req["429"] + sum(x["refused"] for x in limits),
        "longest_429_run": max((x["longest_run"] for x in limits), default=0),
        "limiter_cpu": round(sum(x["cpu_seconds"] for x in limits), 3),
        "peak_rss_mb": round(run.rss_kib / 1024, 1),
        "failed": failed,
    }
    if failed and run.stderr:
        result["error"] = run.stderr.strip().splitlines()[-1][:300]
    refused = f", {result['requests_429']} answered 429" if rate_limit else ""
    print(f"  {name}: {result['wall']:.2f} s, {failed} failed{refused}", flush=True)
    return result


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time, with every run's wall time."""
    ordered = sorted(runs, key=lambda r: float(r["wall"]))
    return {**ordered[len(ordered) // 2], "walls": [r["wall"] for r in runs]}


def change_one_image(source: LocalRegistry, seed: int) -> None:
    """A new ``latest`` in one repository: one new layer on the same base."""
    layer = make_layer(f"changed/{seed}", 2 << 20).blob
    push_image(source.url, CHANGED_REPO, "latest", layers=[layer], seed=f"changed/{seed}")


# -- the run -------------------------------------------------------------------------


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    profile = PROFILES[args.link]
    peers = [p for p in args.peers.split(",") if p]
    shape = (12, 4) if args.tags == 48 else (40, 25)
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()},
        "link": {"name": args.link, **profile.__dict__},
        "peers": peers,
        "repeat": args.repeat,
        "rate_limit": args.rate_limit,
        "rate_limit_silent": args.rate_limit_silent,
    }
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = stack.enter_context(LocalRegistry(config_overrides=ACCESS_LOG))
        started = time.monotonic()
        refs = build_fleet(
            source.url,
            total_mb=args.fleet_mb,
            repositories=shape[0],
            tags_per_repository=shape[1],
        )
        size = unique_bytes(source)
        print(
            f"fleet: {len(refs)} tags over {shape[0]} repositories, {size / 1e6:.0f} MB unique, "
            f"built in {time.monotonic() - started:.0f} s; link {args.link}",
            flush=True,
        )
        report["fleet"] = {"tags": len(refs), "repositories": shape[0], "unique_bytes": size}
        if profile.bandwidth:
            report["floor"] = round(size * 8 / profile.bandwidth + 4 * profile.rtt, 3)
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {
            phase: {p: [] for p in peers} for phase in PHASES
        }
        for round_ in range(args.repeat):
            with ExitStack() as fresh:
                dests = {
                    p: fresh.enter_context(LocalRegistry(config_overrides=ACCESS_LOG))
                    for p in peers
                }
                for phase in PHASES:
                    if phase == "changed":
                        change_one_image(source, seed=round_)
                    print(f"{phase} (round {round_ + 1} of {args.repeat}):", flush=True)
                    for p in peers:
                        runs[phase][p].append(
                            measure(
                                p,
                                refs,
                                source,
                                dests[p],
                                profile,
                                work,
                                args.rate_limit,
                                args.rate_limit_silent,
                            )
                        )
        for phase in PHASES:
            report[phase] = {p: median_run(runs[phase][p]) for p in peers}
    report["machine"]["load_after"] = os.getloadavg()
    return report


def table(report: dict[str, Any]) -> str:
    peers: list[str] = report["peers"]
    floor = report.get("floor")
    head = "| measure | " + " | ".join(LABELS[p] for p in peers) + " | link floor |"
    rows = [head, "|" + "---|" * (len(peers) + 2)]

    def row(label: str, cell: Callable[[dict[str, Any]], str], phase: str, extra: str = "") -> None:
        cells = [cell(report[phase][p]) for p in peers]
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {extra} |")

    ferry = "ferry" in peers
    for phase in PHASES:
        label = {"cold": "cold", "warm": "warm, nothing changed", "changed": "one image changed"}
        extra = f"{floor:.2f} s" if phase == "cold" and floor else ""
        row(f"{label[phase]}: wall", lambda r: f"{r['wall']:.2f} s", phase, extra)
        if ferry:
            base = report[phase]["ferry"]["wall"]
            ratios = [f"{report[phase][p]['wall'] / base:.1f}x" for p in peers]
            note = f"ferry = {base / floor:.2f}x floor" if phase == "cold" and floor else ""
            rows.append(f"| {label[phase]}: peer / ferry | " + " | ".join(ratios) + f" | {note} |")
        row(
            f"{label[phase]}: requests (source + destination)",
            lambda r: f"{r['requests']['source']} + {r['requests']['destination']}",
            phase,
        )
    row(
        "cold: CPU of tool / registries / links",
        lambda r: f"{r['tool_cpu']:.2f} / {r['registry_cpu']:.2f} / {r['link_cpu']:.2f} s",
        "cold",
    )
    row(
        "cold: the links' lag behind schedule, max",
        lambda r: f"{r['link_late_max_ms']:.0f} ms",
        "cold",
    )

    def across(label: str, cell: Callable[[str], str]) -> None:
        rows.append(f"| {label} | " + " | ".join(cell(p) for p in peers) + " | |")

    across(
        "peak RSS (largest process)",
        lambda p: f"{max(report[ph][p]['peak_rss_mb'] for ph in PHASES):.0f} MB",
    )
    across(
        "failed images, cold / warm / changed",
        lambda p: " / ".join(str(report[ph][p]["failed"]) for ph in PHASES),
    )
    across(
        "connections the link reset",
        lambda p: str(sum(report[ph][p]["link_resets"] for ph in PHASES)),
    )
    across(
        "429 answers, cold / warm / changed",
        lambda p: " / ".join(str(report[ph][p]["requests_429"]) for ph in PHASES),
    )
    if report.get("rate_limit"):
        rate = float(report["rate_limit"])
        across(
            "the rate limit's floor, cold / warm: busier registry's requests / rate",
            lambda p: " / ".join(
                f"{max(report[ph][p]['requests'].values()) / rate:.1f} s" for ph in ("cold", "warm")
            ),
        )
        across(
            "longest run of 429s in a row, cold / warm / changed",
            lambda p: " / ".join(str(report[ph][p]["longest_429_run"]) for ph in PHASES),
        )
        across(
            "429s per request, cold",
            lambda p: f"{report['cold'][p]['requests_429'] / _sent(report['cold'][p]):.1%}",
        )
    across(
        "cold wall, every round",
        lambda p: ", ".join(f"{w:.1f}" for w in report["cold"][p]["walls"]) + " s",
    )
    return "\n".join(rows)


def _sent(run: dict[str, Any]) -> int:
    """Requests sent: those served, and those refused before reaching the registry."""
    requests = run["requests"]
    return max(1, int(requests["source"] + requests["destination"] + run["requests_429"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--link", choices=sorted(PROFILES), default="region")
    parser.add_argument("--tags", type=int, choices=(48, 1000), default=48)
    parser.add_argument("--fleet-mb", type=float, default=200)
    parser.add_argument("--peers", default="ferry,reference,sync", help="of ferry,reference,sync")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each figure is the median")
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=0.0,
        metavar="N",
        help="each registry answers 429 (Retry-After) beyond N requests/s (bench/ratelimit.py)",
    )
    parser.add_argument(
        "--rate-limit-silent",
        action="store_true",
        help="the rate limiter sends no RateLimit-Remaining: only 429s say slow down",
    )
    args = parser.parse_args()
    unknown = set(args.peers.split(",")) - set(PEERS)
    if unknown:
        parser.error(f"unknown peers: {', '.join(sorted(unknown))}")
    report = run_bench(args)
    print()
    print(table(report))
    RESULTS.mkdir(exist_ok=True)
    limited = f"-limit{args.rate_limit:g}" if args.rate_limit else ""
    limited += "-silent" if args.rate_limit and args.rate_limit_silent else ""
    out = RESULTS / time.strftime(f"wan-{args.link}-{args.tags}{limited}-%Y%m%dT%H%M%S.json")
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
