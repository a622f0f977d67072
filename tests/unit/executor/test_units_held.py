"""Reading a worker's requests (``inspect().active()``/``reserved()``) into held units."""

from __future__ import annotations

from imageferry.executor.workers import COPY_BATCH, UnitsHeld, WorkerInfo, units_held


def test_copy_batches_are_read_and_other_tasks_ignored() -> None:
    requests = [
        {"name": COPY_BATCH, "kwargs": {"run_id": "r-1", "unit_keys": ["a", "b"], "batch": "x"}},
        # Task protocol 1 reports kwargs as their repr.
        {"name": COPY_BATCH, "kwargs": "{'run_id': 'r-2', 'unit_keys': ['c'], 'batch': 'y'}"},
        {"name": "celery.ping", "kwargs": {}},
        {"name": COPY_BATCH, "kwargs": "not a dict"},
    ]
    assert units_held(requests, "active") == [
        UnitsHeld("r-1", "x", 2, "active"),
        UnitsHeld("r-2", "y", 1, "active"),
        UnitsHeld("", "", 0, "active"),
    ]


def test_only_executing_batches_count_as_in_flight() -> None:
    worker = WorkerInfo(
        "w@h",
        True,
        None,
        (UnitsHeld("r", "a", 5, "active"), UnitsHeld("r", "b", 7, "reserved")),
    )
    assert worker.units_in_flight == 5
