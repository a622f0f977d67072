"""What one run's results cost the store, per image, on SQLite and on PostgreSQL.

A run of ``--images`` images is written as the executor writes it: every
unit pending first, then running, then its final result with its one log
line ("copied SRC -> DST DIGEST (...)"), in transactions of 500 items.
References are as long as real ones (a private registry's source, an ECR
destination). Reported per backend:

- ``logical``: the run's own figure (``store_bytes``: its text in UTF-8 and
  8 bytes per number), per image;
- ``on disk``: what the database grew by, per image. SQLite: the file and
  its write-ahead log after a checkpoint. PostgreSQL: the two tables with
  their indexes and TOAST (``pg_total_relation_size``), before and after
  ``VACUUM`` (each result row is written three times: pending, running, final);
- retention: after ``ferry task prune`` down to one run (and, on PostgreSQL,
  a ``VACUUM`` as autovacuum would run), how much one more run grows the
  database: near 0 when the pruned runs' pages are reused.

Usage: .venv/bin/python bench/bench_store_growth.py [--images 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services import database, postgres
from sqlalchemy import text

from imageferry.store import ImageStatus, ImageUnit, Store, UnitResult

TASK = {
    "sourceType": "Public",
    "srcRegistry": "registry.example.internal:5000",
    "srcList": "ALL",
    "destRegistry": "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    "destPrefix": "mirror",
    "scheduleType": "ONE_TIME",
}
_BATCH = 500


def _units(images: int) -> list[ImageUnit]:
    src, dst = TASK["srcRegistry"], f"{TASK['destRegistry']}/mirror"
    return [
        ImageUnit(
            f"{src}/team-{i % 4}/svc/app-{i % 40:03d}:v1.{i // 40}.{i}",
            f"{dst}/team-{i % 4}/svc/app-{i % 40:03d}:v1.{i // 40}.{i}",
        )
        for i in range(images)
    ]


def write_run(store: Store, task_id: str, images: int) -> tuple[str, int]:
    """One run as the executor records it; returns its id and ``store_bytes``."""
    run = store.create_run(task_id)
    units = _units(images)
    store.add_pending_images(run.id, units)
    store.set_images_total(run.id, images)
    for start in range(0, images, _BATCH):
        chunk = units[start : start + _BATCH]
        running = [UnitResult(u.source, u.destination, ImageStatus.RUNNING) for u in chunk]
        store.record_results(run.id, running)
        final, logs = [], []
        for i, unit in enumerate(chunk, start):
            digest = f"sha256:{i:064x}"
            final.append(
                UnitResult(
                    unit.source,
                    unit.destination,
                    ImageStatus.COPIED,
                    digest=digest,
                    bytes_transferred=31_000_000,
                    bytes_reused=2_000_000,
                    seconds=1.25,
                    attempts=1,
                )
            )
            logs.append(
                (
                    "INFO",
                    f"copied {unit.source} -> {unit.destination} {digest} "
                    "(31000000 bytes sent, 2000000 reused, 1.25s, attempt 1)",
                )
            )
        store.record_results(run.id, final, logs)
    return run.id, store.finish_run(run.id).store_bytes


def _sqlite_size(path: Path) -> int:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def _pg_vacuum(store: Store) -> None:
    """What autovacuum does in time: the pruned and superseded rows' space becomes reusable."""
    with store.engine.connect() as db:
        db.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM image_results, log_lines")
        )


def _pg_size(store: Store) -> int:
    with store.engine.connect() as db:
        size = db.scalar(
            text(
                "SELECT pg_total_relation_size('image_results')"
                " + pg_total_relation_size('log_lines')"
            )
        )
    return int(size or 0)


def measure(
    store: Store, size: Callable[[], int], images: int, runs: int, settle: Callable[[], None]
) -> dict[str, Any]:
    """Grow by ``runs`` runs, prune to one, then write one more run into the freed space."""
    task = store.create_task(TASK, name="growth")
    before = size()
    logical = []
    for _ in range(runs):
        logical.append(write_run(store, task.id, images)[1])
    grown = size() - before
    pruned = store.prune_runs(1)
    settle()
    after_prune = size()
    write_run(store, task.id, images)
    return {
        "images_per_run": images,
        "runs": runs,
        "logical_bytes_per_image": round(sum(logical) / (runs * images)),
        "disk_bytes_per_image": round(grown / (runs * images)),
        "pruned_runs": pruned.runs,
        "next_run_after_prune_growth_bytes": size() - after_prune,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "imageferry.db"
        with Store(f"sqlite:///{path}") as store:
            report["sqlite"] = measure(
                store, lambda: _sqlite_size(path), args.images, args.runs, lambda: None
            )
    with postgres() as server, Store(database(server)) as store:
        report["postgres"] = measure(
            store,
            lambda: _pg_size(store),
            args.images,
            args.runs,
            lambda: _pg_vacuum(store),
        )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
