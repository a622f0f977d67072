"""Side-by-side benchmark: ``ferry copy`` against skopeo, as ratios from one run.

Builds a fleet (>= 30 tags over >= 10 repositories, nested paths, shared base
layers, multi-arch indexes, ~200 MB) in a loopback registry on tmpfs, then:

1. cold copy of the whole fleet into an empty registry: ``ferry copy --from-file``
   vs per-image ``skopeo copy --all`` (names match) and ``skopeo sync --all``
   (unscoped: it keeps only the last path component, distinct in this fleet);
2. warm re-run when nothing changed;
3. peak RSS copying one image with a >= 1 GiB layer;
4. the HTTP stack: CPU seconds to stream one large blob with aiohttp vs httpx;
5. image concurrency sweep for ``ferry copy`` (how the default was chosen).

Cold and warm are measured ``--repeat`` times (3), each time into fresh destination
registries, and each tool's median run is reported; the min and max are in the JSON.

Usage: .venv/bin/python bench/bench_copy.py [--fleet-mb 200] [--large-mb 1024] [--repeat 3]
Results: a table on stdout and JSON in bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sync_config import sync_argv

from imageferry.sandbox import LocalRegistry, build_fleet

BIN = Path(sys.executable).parent
FERRY = str(BIN / "ferry")
RESULTS = Path(__file__).parent / "results"
TLS = ["--src-tls-verify=false", "--dest-tls-verify=false"]


# A fresh, small launcher runs the command as its child and reports that
# child's peak RSS: a child forked straight from this (large) process would
# inherit our high-water mark across exec and report it instead.
_LAUNCHER = (
    "import resource, subprocess, sys; "
    "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)"
)


def _test_builders() -> Any:
    """The test suite's image builders (tests/stand_ins/images.py): one makes the large layer."""
    tests = str(Path(__file__).resolve().parents[1] / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import stand_ins.images

    return stand_ins.images


def run_measured(
    argv: Sequence[str], *, rss: bool = False, env: dict[str, str] | None = None
) -> tuple[float, int]:
    """Run a command; return (wall seconds, its peak RSS in KiB, or 0 unless ``rss``).

    Timing runs the command directly, so no launcher start-up is counted.
    """
    launch = [sys.executable, "-S", "-c", _LAUNCHER, *argv] if rss else list(argv)
    started = time.monotonic()
    proc = subprocess.run(launch, capture_output=True, text=True, env=env)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(
            f"{argv[0]} failed ({proc.returncode}): {proc.stdout[-1000:]} {proc.stderr[-2000:]}"
        )
    return elapsed, int(proc.stdout.strip().splitlines()[-1]) if rss else 0


def timed(fn: Callable[[], object]) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def process_cpu(pid: int) -> float:
    """User + system CPU seconds a live process has used (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def accounted(fn: Callable[[], object], registries: Sequence[LocalRegistry]) -> dict[str, float]:
    """Wall seconds, the tool's CPU seconds (its exited processes) and the registries'."""
    before_regs = sum(process_cpu(r.pid) for r in registries)
    before = os.times()
    wall = timed(fn)
    after = os.times()
    tool = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    regs = sum(process_cpu(r.pid) for r in registries) - before_regs
    return {"wall": round(wall, 3), "tool_cpu": round(tool, 3), "registry_cpu": round(regs, 3)}


def ferry_copy(
    pairs_file: Path,
    concurrency: int | None = None,
    *,
    rss: bool = False,
) -> tuple[float, int]:
    argv = [FERRY, "copy", "--from-file", str(pairs_file), "--quiet"]
    if concurrency is not None:
        argv += ["--concurrency", str(concurrency)]
    return run_measured(argv, rss=rss)


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The median run by wall time, with the spread of all runs."""
    ordered = sorted(runs, key=lambda r: r["wall"])
    return {
        **ordered[len(ordered) // 2],
        "min": ordered[0]["wall"],
        "max": ordered[-1]["wall"],
        "runs": len(runs),
    }


def skopeo_each(pairs: Sequence[tuple[str, str]]) -> float:
    def go() -> None:
        for src, dst in pairs:
            run_measured(
                ["skopeo", "copy", "--all", "--quiet", *TLS, f"docker://{src}", f"docker://{dst}"]
            )

    return timed(go)


def skopeo_sync(source: LocalRegistry, refs: Sequence[str], dest: str, workdir: Path) -> float:
    return run_measured(sync_argv(source.host, refs, dest, workdir))[0]


def http_stack(url: str, repo: str, digest: str) -> dict[str, float]:
    """CPU seconds (user+sys of this process) to stream one blob with each client."""
    import aiohttp
    import httpx

    blob_url = f"{url}/v2/{repo}/blobs/{digest}"

    async def with_aiohttp() -> int:
        n = 0
        async with aiohttp.ClientSession(auto_decompress=False) as s, s.get(blob_url) as r:
            async for chunk in r.content.iter_chunked(1 << 20):
                n += len(chunk)
        return n

    async def with_httpx() -> int:
        n = 0
        async with httpx.AsyncClient() as c, c.stream("GET", blob_url) as r:
            async for chunk in r.aiter_raw(1 << 20):
                n += len(chunk)
        return n

    out: dict[str, float] = {}
    for name, fn in (("aiohttp", with_aiohttp), ("httpx", with_httpx)):
        before = os.times()
        size = asyncio.run(fn())
        after = os.times()
        out[name] = round((after.user - before.user) + (after.system - before.system), 3)
        out[f"{name}_bytes"] = size
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet-mb", type=float, default=200)
    parser.add_argument("--large-mb", type=int, default=1024)
    parser.add_argument("--sweep", default="1,4,8,16", help="ferry --concurrency values")
    parser.add_argument("--repeat", type=int, default=3, help="cold/warm runs per tool")
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}}
    run_bench(args, report)


def one_round(
    source: LocalRegistry,
    refs: Sequence[str],
    work: Path,
    runs: dict[str, dict[str, list[dict[str, float]]]],
) -> None:
    """Cold, then warm, for each tool into fresh destination registries."""
    with LocalRegistry() as d_ferry, LocalRegistry() as d_skopeo, LocalRegistry() as d_sync:
        pairs_file = work / "pairs.txt"
        pairs_file.write_text("".join(f"{source.host}/{r} {d_ferry.host}/{r}\n" for r in refs))
        sk_pairs = [(f"{source.host}/{r}", f"{d_skopeo.host}/{r}") for r in refs]
        measures: dict[str, tuple[Callable[[], object], LocalRegistry]] = {
            "ferry": (lambda: ferry_copy(pairs_file), d_ferry),
            "skopeo_copy_each": (lambda: skopeo_each(sk_pairs), d_skopeo),
            "skopeo_sync": (lambda: skopeo_sync(source, refs, d_sync.host, work), d_sync),
        }
        for phase in ("cold", "warm"):
            for name, (fn, dest) in measures.items():
                runs[phase][name].append(accounted(fn, [source, dest]))


def run_bench(args: argparse.Namespace, report: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp, LocalRegistry() as source:
        work = Path(tmp)
        t = timed(
            lambda: report.__setitem__("refs", build_fleet(source.url, total_mb=args.fleet_mb))
        )
        refs: list[str] = report.pop("refs")
        repos = {r.rpartition(":")[0] for r in refs}
        print(
            f"fleet: {len(refs)} tags over {len(repos)} repositories, "
            f"~{args.fleet_mb:.0f} MB, built in {t:.1f}s",
            flush=True,
        )
        report["fleet"] = {"tags": len(refs), "repositories": len(repos), "mb": args.fleet_mb}

        tools = ("ferry", "skopeo_copy_each", "skopeo_sync")
        runs: dict[str, dict[str, list[dict[str, float]]]] = {
            "cold": {t: [] for t in tools},
            "warm": {t: [] for t in tools},
        }
        for _ in range(args.repeat):
            one_round(source, refs, work, runs)
        for phase, by_tool in runs.items():
            report[phase] = {name: median_run(r) for name, r in by_tool.items()}
        print("cold and warm measured", flush=True)

        sweep: dict[str, float] = {}
        for c in (int(x) for x in args.sweep.split(",") if x):
            with LocalRegistry() as dest:
                f = work / f"pairs-{c}.txt"
                f.write_text("".join(f"{source.host}/{r} {dest.host}/{r}\n" for r in refs))
                sweep[str(c)] = round(ferry_copy(f, c)[0], 3)
        report["concurrency_sweep"] = sweep

        push_large_image = _test_builders().push_large_image
        large = push_large_image(source.url, "big/layer", "v1", layer_size=args.large_mb << 20)
        with LocalRegistry() as d1, LocalRegistry() as d2:
            one = work / "large.txt"
            one.write_text(f"{source.host}/big/layer:v1 {d1.host}/big/layer:v1\n")
            large_ferry_s, large_ferry_rss = ferry_copy(one, rss=True)
            large_skopeo_s, large_skopeo_rss = run_measured(
                [
                    "skopeo",
                    "copy",
                    "--all",
                    "--quiet",
                    *TLS,
                    f"docker://{source.host}/big/layer:v1",
                    f"docker://{d2.host}/big/layer:v1",
                ],
                rss=True,
            )
        report["large"] = {
            "layer_mb": args.large_mb,
            "ferry_seconds": round(large_ferry_s, 3),
            "ferry_peak_rss_mb": round(large_ferry_rss / 1024, 1),
            "skopeo_seconds": round(large_skopeo_s, 3),
            "skopeo_peak_rss_mb": round(large_skopeo_rss / 1024, 1),
        }
        layer_digest = json.loads(large.body)["layers"][0]["digest"]
        report["http_stack_cpu_seconds"] = http_stack(source.url, "big/layer", layer_digest)

    report["ratios"] = {
        f"{phase}_vs_{peer}": round(report[phase][peer]["wall"] / report[phase]["ferry"]["wall"], 2)
        for phase in ("cold", "warm")
        for peer in ("skopeo_copy_each", "skopeo_sync")
    }
    print()
    print("| measure | ferry | skopeo copy (each) | skopeo sync | skopeo / ferry |")
    print("|---|---|---|---|---|")
    for phase, label in (("cold", f"cold copy, {len(refs)} tags"), ("warm", "warm re-run")):
        row = report[phase]
        ratios = report["ratios"]
        print(
            f"| {label}: wall | "
            + " | ".join(f"{row[t]['wall']:.2f} s" for t in tools)
            + f" | {ratios[f'{phase}_vs_skopeo_copy_each']}x / "
            f"{ratios[f'{phase}_vs_skopeo_sync']}x |"
        )
        print(
            f"| {label}: CPU of the tool / of the two registries | "
            + " | ".join(
                f"{row[t]['tool_cpu']:.2f} / {row[t]['registry_cpu']:.2f} s" for t in tools
            )
            + " | |"
        )
    # What the registries alone take of the machine while ferry copies: a
    # floor under any client's wall time, next to what a 3x ratio asks for.
    cpus = os.cpu_count() or 1
    report["cold"]["floor"] = {
        "registries_cpu_over_cores": round(report["cold"]["ferry"]["registry_cpu"] / cpus, 3),
        "wall_for_3x": round(report["cold"]["skopeo_copy_each"]["wall"] / 3, 3),
    }
    floor = report["cold"]["floor"]
    print(
        f"| cold: the registries' CPU during ferry's run / {cpus} cores (a floor) | "
        f"{floor['registries_cpu_over_cores']:.2f} s | 3x needs ferry at "
        f"{floor['wall_for_3x']:.2f} s | | |"
    )
    print(
        f"| medians of {args.repeat} runs; ferry cold/warm min-max | "
        f"{report['cold']['ferry']['min']:.2f}-{report['cold']['ferry']['max']:.2f} s / "
        f"{report['warm']['ferry']['min']:.2f}-{report['warm']['ferry']['max']:.2f} s | | | |"
    )
    lg = report["large"]
    print(
        f"| {lg['layer_mb']} MiB layer: time | {lg['ferry_seconds']:.2f} s | "
        f"{lg['skopeo_seconds']:.2f} s | | |"
    )
    print(
        f"| {lg['layer_mb']} MiB layer: peak RSS | {lg['ferry_peak_rss_mb']} MB | "
        f"{lg['skopeo_peak_rss_mb']} MB | | |"
    )
    h = report["http_stack_cpu_seconds"]
    print()
    print(
        f"HTTP stack, CPU seconds to stream the {lg['layer_mb']} MiB blob: "
        f"aiohttp {h['aiohttp']} s, httpx {h['httpx']} s"
    )
    print(f"ferry --concurrency sweep (cold, seconds): {report['concurrency_sweep']}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / time.strftime("bench-%Y%m%dT%H%M%S.json")
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
