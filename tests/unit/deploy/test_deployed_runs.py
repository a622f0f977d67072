"""Executions and table rows as runs and per-image results, as ``ferry task show`` prints them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from imageferry.deploy_aws.runs import image_result, run_record
from imageferry.store.status import ImageStatus, RunStatus, Trigger

START = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def _execution(status: str, **more: Any) -> dict[str, Any]:
    return {
        "name": "e-1",
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:e-1",
        "status": status,
        "startDate": START,
        "stopDate": START + timedelta(minutes=5),
        **more,
    }


def _row(tag: str, status: str, **more: Any) -> dict[str, Any]:
    return {"Image": "repo/app", "Tag": tag, "Status": status, "Execution": "e-1", **more}


def test_rows_become_image_results() -> None:
    copied = image_result(
        _row("1.0", "Done", Bytes=Decimal(2048), Seconds=Decimal("1.5"), Attempts=Decimal(1)),
        "e-1",
        START,
        "mirror",
    )
    assert (copied.source, copied.destination) == ("repo/app:1.0", "mirror/repo/app:1.0")
    assert (copied.status, copied.bytes_transferred, copied.seconds) == (
        ImageStatus.COPIED,
        2048,
        1.5,
    )
    untagged = image_result(_row("sha256:" + "b" * 64, "Skipped"), "e-1", START, "")
    assert untagged.source == "repo/app@sha256:" + "b" * 64
    assert untagged.status is ImageStatus.SKIPPED


def test_a_succeeded_execution_with_failed_images_is_an_error_run() -> None:
    images = (
        image_result(_row("1", "Done"), "e-1", START, ""),
        image_result(_row("2", "Error", Error="denied"), "e-1", START, ""),
    )
    run = run_record("t-1", 3, _execution("SUCCEEDED", input='{"trigger": "push"}'), images)
    assert (run.status, run.trigger, run.number) == (RunStatus.ERROR, Trigger.PUSH, 3)
    assert (run.images_total, run.images_copied, run.images_failed) == (2, 1, 1)
    assert run.seconds == 300


def test_an_execution_that_failed_says_why() -> None:
    execution = _execution("FAILED", error="RunFailed", cause="a step failed", input="not json")
    run = run_record("t-1", 1, execution, ())
    assert (run.status, run.trigger) == (RunStatus.ERROR, Trigger.MANUAL)
    assert run.error == "RunFailed: a step failed"
    running = run_record("t-1", 2, {**_execution("RUNNING"), "stopDate": None}, ())
    assert (running.status, running.ended_at) == (RunStatus.IN_PROGRESS, None)
