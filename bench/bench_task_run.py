"""A task run against ``ferry copy`` over the same pairs, when nothing changed.

Fills a loopback source registry with ``--tags`` small images over ``--repos``
repositories, copies them once into a second registry, then measures, in
alternating rounds, the warm re-run (everything up to date, so every image is
skipped) both ways:

- ``ferry copy --from-file PAIRS`` with the pairs a task would select;
- ``ferry task run TASK`` on a task naming the same images (``srcImageList``),
  on a SQLite store in a fresh data directory, with the same concurrency.

Both run as a user runs them (progress lines on stderr, here to a pipe). The
store's growth per run is the SQLite file's (with its write-ahead log), next to
the run's own figure ("N bytes stored" in its summary line): the data of its
results and log lines.

Usage: .venv/bin/python bench/bench_task_run.py [--tags 1000] [--repos 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from imageferry.sandbox import LocalRegistry, Pusher
from imageferry.sandbox.images import make_layer, push_image

FERRY = str(Path(sys.executable).parent / "ferry")


def fill(source: LocalRegistry, tags: int, repos: int) -> list[str]:
    """``repo:tag`` of ``tags`` distinct images spread over ``repos`` nested repositories.

    The images of one repository share their layer; each has its own config
    and manifest, as the tags of one application do.
    """
    refs = []
    with Pusher(source.url) as pusher:
        for r in range(repos):
            repo = f"team{r % 4}/app{r}"
            layer = make_layer(f"{repo}/layer", 512).blob
            for t in range(r, tags, repos):
                tag = f"v{t}"
                push_image(pusher, repo, tag, layers=[layer], seed=f"{repo}:{tag}")
                refs.append(f"{repo}:{tag}")
    return refs


def run(argv: Sequence[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds and standard output of one command, which must succeed."""
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed: {proc.stdout[-800:]} {proc.stderr[-800:]}")
    return elapsed, proc.stdout


def store_size(data_dir: Path) -> int:
    """Bytes of the SQLite store: the database file and its write-ahead log."""
    return sum(
        p.stat().st_size for p in data_dir.glob("imageferry.db*") if not p.name.endswith("-shm")
    )


def own_seconds(summary: str) -> float:
    found = re.search(r"reused in ([0-9.]+)s", summary)
    return float(found.group(1)) if found else float("nan")


def spread(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=1000)
    parser.add_argument("--repos", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16, help="for both commands")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalRegistry() as source,
        LocalRegistry() as dest,
    ):
        work = Path(tmp)
        data = work / "data"
        env = {**os.environ, "FERRY_DATA_DIR": str(data)}
        started = time.monotonic()
        refs = fill(source, args.tags, args.repos)
        print(
            f"{len(refs)} tags over {args.repos} repositories in {time.monotonic() - started:.1f}s"
        )

        pairs = work / "pairs.txt"
        pairs.write_text("".join(f"{source.host}/{r} {dest.host}/mirror/{r}\n" for r in refs))
        parameters = work / "task.json"
        parameters.write_text(
            json.dumps(
                {
                    "sourceType": "Public",
                    "srcRegistry": source.host,
                    "srcList": "SELECTED",
                    "srcImageList": ",".join(refs),
                    "destRegistry": dest.host,
                    "destPrefix": "mirror",
                    "scheduleType": "ONE_TIME",
                    "concurrency": str(args.concurrency),
                }
            )
        )
        created = subprocess.run(
            [FERRY, "task", "create", "--file", str(parameters), "-o", "json"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        task_id = json.loads(created.stdout)["id"]
        copy_argv = [
            FERRY,
            "copy",
            "--from-file",
            str(pairs),
            "--concurrency",
            str(args.concurrency),
        ]
        task_argv = [FERRY, "task", "run", task_id]

        cold, _ = run(copy_argv, env)
        print(f"cold ferry copy: {cold:.2f}s")
        run(task_argv, env)  # the first run creates the store's tables and pages

        copies: list[float] = []
        task_runs: list[float] = []
        # What each command's own summary says the work took ("... reused in 1.52s"):
        # the wall time above less start-up and, for the task, the store's upkeep.
        copy_work: list[float] = []
        task_work: list[float] = []
        growth: list[int] = []
        stored: list[int] = []
        for _ in range(args.rounds):
            seconds, summary = run(copy_argv, env)
            copies.append(seconds)
            copy_work.append(own_seconds(summary))
            before = store_size(data)
            seconds, summary = run(task_argv, env)
            task_runs.append(seconds)
            task_work.append(own_seconds(summary))
            growth.append(store_size(data) - before)
            if f"DONE: 0 copied, {len(refs)} skipped" not in summary:
                raise SystemExit(f"the task run did not skip every image: {summary}")
            found = re.search(r"(\d+) bytes stored", summary)
            stored.append(int(found.group(1)) if found else 0)

    report = {
        "tags": len(refs),
        "repositories": args.repos,
        "concurrency": args.concurrency,
        "ferry_copy": spread(copies),
        "ferry_task_run": spread(task_runs),
        "ratio_of_medians": round(statistics.median(task_runs) / statistics.median(copies), 2),
        "ferry_copy_own_seconds": spread(copy_work),
        "ferry_task_run_own_seconds": spread(task_work),
        "store_growth_bytes_per_run": growth,
        "store_bytes_reported_per_run": stored,
    }
    print()
    print(f"| warm, {len(refs)} tags up to date ({args.rounds} rounds) | median | min | max |")
    print("|---|---|---|---|")
    for name, key in (
        ("ferry copy --from-file", "ferry_copy"),
        ("ferry task run", "ferry_task_run"),
    ):
        r = report[key]
        assert isinstance(r, dict)
        print(f"| {name} | {r['median']:.2f} s | {r['min']:.2f} s | {r['max']:.2f} s |")
    for name, key in (
        ("ferry copy, as its summary says", "ferry_copy_own_seconds"),
        ("ferry task run, as its summary says", "ferry_task_run_own_seconds"),
    ):
        r = report[key]
        assert isinstance(r, dict)
        print(f"| {name} | {r['median']:.2f} s | {r['min']:.2f} s | {r['max']:.2f} s |")
    print(f"\ntask run / ferry copy (medians): {report['ratio_of_medians']}x")
    print(f"store growth per task run (SQLite file + WAL): {growth} bytes")
    print(f"bytes stored per task run, as its summary reports: {stored}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
