"""What ``ferry task`` prints: the JSON shapes users script against, and the tables."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from imageferry.cli.task import collect_parameters
from imageferry.cli.task_view import (
    destination_label,
    render_table,
    run_result_json,
    run_summary,
    show_json,
    show_text,
    source_label,
    task_row_json,
)
from imageferry.store.records import ImageResultRecord, RunRecord, TaskRecord
from imageferry.store.status import ImageStatus, RunStatus, ScheduleType, TaskStatus, Trigger

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
T1 = datetime(2025, 1, 2, 3, 5, 0, tzinfo=UTC)


def _task(**parameters: str) -> TaskRecord:
    return TaskRecord(
        id="t-1",
        name="nightly",
        parameters=parameters,
        status=TaskStatus.DONE,
        schedule_type=ScheduleType.FIXED_RATE,
        schedule_expression="rate(1 day)",
        next_run_at=None,
        created_at=T0,
        updated_at=T0,
    )


def _run(ended: datetime | None = T1) -> RunRecord:
    return RunRecord(
        id="r-1",
        task_id="t-1",
        number=1,
        status=RunStatus.ERROR,
        trigger=Trigger.CLI,
        created_at=T0,
        started_at=T0,
        ended_at=ended,
        images_total=2,
        images_copied=1,
        images_skipped=0,
        images_failed=1,
        images_done=2,
        bytes_transferred=100,
        bytes_reused=7,
        error="1 of 2 images failed",
        executor_id="local",
        heartbeat_at=None,
    )


def _image(status: ImageStatus, error: str = "") -> ImageResultRecord:
    return ImageResultRecord(
        run_id="r-1",
        unit_key="k",
        source="src/app:1",
        destination="dst/app:1",
        digest="sha256:" + "a" * 64,
        status=status,
        bytes_transferred=100,
        bytes_reused=7,
        seconds=0.5,
        attempts=2,
        error=error,
        updated_at=T1,
    )


def test_show_json_has_exactly_the_documented_shape() -> None:
    doc = show_json(
        _task(srcRegion="us-east-1"),
        [(_run(), [_image(ImageStatus.COPIED), _image(ImageStatus.FAILED, "boom")])],
    )
    assert doc == {
        "id": "t-1",
        "name": "nightly",
        "status": "DONE",
        "parameters": {"srcRegion": "us-east-1"},
        "runs": [
            {
                "id": "r-1",
                "status": "ERROR",
                "started_at": "2025-01-02T03:04:05+00:00",
                "ended_at": "2025-01-02T03:05:00+00:00",
                "images": [
                    {
                        "source": "src/app:1",
                        "destination": "dst/app:1",
                        "digest": "sha256:" + "a" * 64,
                        "status": status,
                        "bytes_transferred": 100,
                        "bytes_reused": 7,
                        "seconds": 0.5,
                        "attempts": 2,
                        "error": error,
                    }
                    for status, error in (("copied", ""), ("failed", "boom"))
                ],
            }
        ],
    }


def test_an_unfinished_run_has_a_null_end_and_the_run_document_its_totals() -> None:
    doc = run_result_json(_run(ended=None), [])
    assert doc["ended_at"] is None
    assert (doc["images_failed"], doc["trigger"], doc["error"]) == (
        1,
        "cli",
        "1 of 2 images failed",
    )


def test_an_ended_run_says_what_it_stores() -> None:
    stored = replace(_run(), store_bytes=2048)
    assert "7 reused in 55.00s, 2048 bytes stored; 1 of 2 images failed" in run_summary(stored)
    assert run_result_json(stored, [])["store_bytes"] == 2048
    assert "stored" not in run_summary(_run(ended=None))


def test_a_run_counts_the_images_it_copied_again() -> None:
    once = replace(_image(ImageStatus.SKIPPED), attempts=1)
    images = [_image(ImageStatus.COPIED), _image(ImageStatus.FAILED, "boom"), once]

    assert run_result_json(_run(), images)["image_retries"] == 2
    assert "Images of run 1 (2 images retried, 2 retries):" in show_text(_task(), [_run()], images)
    assert "Images of run 1:" in show_text(_task(), [_run()], [once])


def test_labels_follow_the_reference_console() -> None:
    assert source_label({"sourceType": "Public"}) == "Public"
    assert source_label({"srcRegion": "us-west-1", "srcAccountId": "123456789012"}) == (
        "us-west-1 (123456789012)"
    )
    assert source_label({"srcRegistry": "quay.io", "sourceType": "Public"}) == "quay.io"
    assert destination_label({"destRegion": "cn-north-1", "destPrefix": "mirror"}) == (
        "cn-north-1/mirror"
    )
    assert destination_label({"destRegistry": "h:5000"}) == "h:5000"
    row = task_row_json(_task(sourceType="Public"), _run())
    assert (row["schedule"], row["images_done"], row["latest_run"]) == (
        "FIXED_RATE rate(1 day)",
        2,
        "r-1",
    )
    assert task_row_json(_task(), None)["images_total"] == 0


def test_render_table_aligns_columns() -> None:
    table = render_table(("A", "LONGER", "Z"), [("xxxx", "y", "last col"), ("q", "", "")])
    assert table.splitlines() == ["A     LONGER  Z", "xxxx  y       last col", "q"]


def test_collect_parameters_merges_forms_in_order() -> None:
    merged = collect_parameters(
        ["destPrefix=flag"],
        "ParameterKey=destPrefix,ParameterValue=aws",
        ["aws", "cloudformation", "--stack-name", "s", "ParameterKey=srcList,ParameterValue=ALL"],
        None,
    )
    assert merged == {"destPrefix": "flag", "srcList": "ALL"}
    from_stdin = collect_parameters(
        [], "-", [], None, stdin_text=lambda: "--parameters ParameterKey=a,ParameterValue=x\\,y"
    )
    assert from_stdin == {"a": "x,y"}


def test_show_text_lists_the_parameters_that_have_a_value_and_names_the_blank_ones() -> None:
    task = _task(sourceType="Public", srcRegion="", srcImageList="app:1", alarmEmail="")
    text = show_text(replace(task, next_run_at=T1), [], [])
    lines = text.splitlines()
    assert "  sourceType   = Public" in lines
    assert "  srcImageList = app:1" in lines
    assert "  blank: srcRegion, alarmEmail" in lines
    assert not any(line.rstrip() != line for line in lines)  # no "key = " with nothing after
    assert "  next run:    2025-01-02 03:05:00 UTC" in lines
    assert "  created:     2025-01-02 03:04:05 UTC" in lines
    assert lines[-1] == "Runs: none yet (`ferry task run t-1`)"
