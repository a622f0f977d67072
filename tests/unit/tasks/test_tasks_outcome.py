"""How a finished run is told: what happened, and why when it failed, once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from imageferry.cli.task_view import run_summary
from imageferry.store.records import RunRecord
from imageferry.store.status import RunStatus, Trigger
from imageferry.tasks.outcome import CLOSING, run_outcome

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

FAILED_EARLY = RunRecord(
    id="r-1",
    task_id="t-1",
    number=2,
    status=RunStatus.ERROR,
    trigger=Trigger.CLI,
    created_at=T0,
    started_at=T0,
    ended_at=T0 + timedelta(seconds=1.5),
    images_total=0,
    images_copied=0,
    images_skipped=0,
    images_failed=0,
    images_done=0,
    bytes_transferred=0,
    bytes_reused=0,
    error="AWS STS in us-west-2: no AWS credentials found; set AWS_PROFILE",
    executor_id="local",
    heartbeat_at=None,
)


def test_a_run_that_failed_before_selecting_says_only_why() -> None:
    why = FAILED_EARLY.error
    assert run_outcome(FAILED_EARLY) == f"ended ERROR before any image was selected: {why}"
    assert run_summary(FAILED_EARLY) == (
        f"run 2 (r-1) ended ERROR before any image was selected: {why}"
    )
    assert f"run {run_outcome(FAILED_EARLY)}".startswith(CLOSING)


def test_a_run_with_images_gives_its_counts_then_volume_then_error() -> None:
    run = replace(
        FAILED_EARLY,
        images_total=3,
        images_copied=1,
        images_skipped=1,
        images_failed=1,
        images_done=3,
        bytes_transferred=10,
        bytes_reused=5,
        error="1 of 3 images failed",
    )
    assert run_summary(run) == (
        "run 2 (r-1) ended ERROR: 1 copied, 1 skipped, 1 failed of 3; 10 bytes sent, "
        "5 reused in 1.50s; 1 of 3 images failed"
    )


def test_a_done_run_with_nothing_to_copy_is_not_told_as_a_failure() -> None:
    done = replace(FAILED_EARLY, status=RunStatus.DONE, error="")
    assert run_outcome(done) == "ended DONE: 0 copied, 0 skipped, 0 failed of 0"
