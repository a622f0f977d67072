"""A deployed task's runs, read back from its stack: executions and result rows.

Each execution of the stack's state machine is a run; its per-image results
are the result table's rows whose ``Execution`` is the execution's name
(index ``ByExecution``). Both become the store's own records
(:class:`~imageferry.store.records.RunRecord`,
:class:`~imageferry.store.records.ImageResultRecord`), so ``ferry task show``
prints a deployed task's runs exactly as it prints local ones.

The table keeps one row per image and tag (the reference's keys), so a later
run that copies the same tag takes the row over: an older run lists only the
images no later run has touched since.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from imageferry.aws_errors import DYNAMODB, STEP_FUNCTIONS, AwsCall, aws_errors
from imageferry.store.records import ImageResultRecord, RunRecord
from imageferry.store.status import ImageStatus, RunStatus, Trigger

__all__ = ["MAX_RUNS", "DeployedRun", "image_result", "read_runs", "run_record"]

#: The newest executions ``show`` reads back (each costs a DescribeExecution and a Query).
MAX_RUNS = 50

_RUN_STATUS = {
    "RUNNING": RunStatus.IN_PROGRESS,
    "SUCCEEDED": RunStatus.DONE,
    "FAILED": RunStatus.ERROR,
    "TIMED_OUT": RunStatus.ERROR,
    "ABORTED": RunStatus.STOPPED,
    "PENDING_REDRIVE": RunStatus.ERROR,
}
_IMAGE_STATUS = {
    "Done": ImageStatus.COPIED,
    "Skipped": ImageStatus.SKIPPED,
    "Error": ImageStatus.FAILED,
}
_TRIGGER = {"schedule": Trigger.SCHEDULE, "push": Trigger.PUSH}


@dataclass(frozen=True, slots=True)
class DeployedRun:
    run: RunRecord
    images: tuple[ImageResultRecord, ...]


def _number(value: Any, kind: type[int] | type[float]) -> Any:
    if isinstance(value, (int, float, Decimal)):
        return kind(value)
    try:
        return kind(str(value))
    except ValueError:
        return kind(0)


def image_result(
    row: Mapping[str, Any], run_id: str, when: datetime, prefix: str
) -> ImageResultRecord:
    """One table row (as boto3's resource layer gives it) as a per-image result."""
    image, tag = str(row.get("Image", "")), str(row.get("Tag", ""))
    reference = f"{image}@{tag}" if tag.startswith("sha256:") else f"{image}:{tag}"
    return ImageResultRecord(
        run_id=run_id,
        unit_key=reference,
        source=reference,
        # Rows name their destination; without one, the prefix tells where it went.
        destination=str(row.get("Destination") or "")
        or (f"{prefix}/{reference}" if prefix else reference),
        digest=str(row.get("Digest", "")),
        status=_IMAGE_STATUS.get(str(row.get("Status", "")), ImageStatus.PENDING),
        bytes_transferred=_number(row.get("Bytes", 0), int),
        bytes_reused=0,
        seconds=_number(row.get("Seconds", 0), float),
        attempts=_number(row.get("Attempts", 0), int),
        error=str(row.get("Error", "")),
        updated_at=when,
    )


def _trigger(text: object) -> str:
    """The ``trigger`` of an execution's input (``{"trigger": "schedule"}``), or ''."""
    try:
        given = json.loads(str(text or "{}"))
    except ValueError:
        return ""
    return str(given.get("trigger", "")) if isinstance(given, dict) else ""


def run_record(
    task_id: str,
    number: int,
    execution: Mapping[str, Any],
    images: tuple[ImageResultRecord, ...],
) -> RunRecord:
    """An execution (ListExecutions' item merged with DescribeExecution) as a run."""
    counts = {status: sum(i.status is status for i in images) for status in ImageStatus}
    failed = counts[ImageStatus.FAILED]
    status = _RUN_STATUS.get(str(execution.get("status")), RunStatus.ERROR)
    if status is RunStatus.DONE and failed:
        status = RunStatus.ERROR  # as a local run with failed images ends
    error = ""
    if execution.get("error") or execution.get("cause"):
        error = ": ".join(str(execution[k]) for k in ("error", "cause") if execution.get(k))
    trigger = _TRIGGER.get(_trigger(execution.get("input")), Trigger.MANUAL)
    started: datetime = execution["startDate"]
    done = counts[ImageStatus.COPIED] + counts[ImageStatus.SKIPPED] + failed
    return RunRecord(
        id=str(execution["name"]),
        task_id=task_id,
        number=number,
        status=status,
        trigger=trigger,
        created_at=started,
        started_at=started,
        ended_at=execution.get("stopDate"),
        images_total=len(images),
        images_copied=counts[ImageStatus.COPIED],
        images_skipped=counts[ImageStatus.SKIPPED],
        images_failed=failed,
        images_done=done,
        bytes_transferred=sum(
            i.bytes_transferred for i in images if i.status is ImageStatus.COPIED
        ),
        bytes_reused=0,
        error=error,
        executor_id=str(execution.get("executionArn", "")),
        heartbeat_at=None,
    )


def _rows(dynamodb: Any, table: str, region: str, execution: str) -> list[dict[str, Any]]:
    call = AwsCall(DYNAMODB, region, "Query", f"table {table!r}")
    rows: list[dict[str, Any]] = []
    with aws_errors(call):
        paginator = dynamodb.get_paginator("query")
        for page in paginator.paginate(
            TableName=table,
            IndexName="ByExecution",
            KeyConditionExpression="#e = :e",
            ExpressionAttributeNames={"#e": "Execution"},
            ExpressionAttributeValues={":e": {"S": execution}},
        ):
            rows.extend(_plain(item) for item in page["Items"])
    return rows


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """A low-level DynamoDB item (``{"S": ...}``, ``{"N": ...}``) as plain values."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {key: deserializer.deserialize(value) for key, value in item.items()}


def read_runs(
    sfn: Any,
    dynamodb: Any,
    *,
    task_id: str,
    region: str,
    state_machine_arn: str,
    table: str,
    prefix: str = "",
    limit: int = MAX_RUNS,
) -> list[DeployedRun]:
    """The newest ``limit`` runs, newest first, each with its images."""
    listed: list[dict[str, Any]] = []
    with aws_errors(AwsCall(STEP_FUNCTIONS, region, "ListExecutions", state_machine_arn)):
        for page in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=state_machine_arn
        ):
            listed.extend(page["executions"])
            if len(listed) >= limit:
                break
    listed.sort(key=lambda e: e["startDate"], reverse=True)
    total = len(listed)
    runs: list[DeployedRun] = []
    for index, item in enumerate(listed[:limit]):
        with aws_errors(AwsCall(STEP_FUNCTIONS, region, "DescribeExecution", item["name"])):
            described = sfn.describe_execution(executionArn=item["executionArn"])
        execution = {**item, **described}
        when = execution.get("stopDate") or execution["startDate"]
        rows = _rows(dynamodb, table, region, str(item["name"]))
        images = tuple(
            sorted(
                (image_result(r, str(item["name"]), when, prefix) for r in rows),
                key=lambda i: i.source,
            )
        )
        runs.append(DeployedRun(run_record(task_id, total - index, execution, images), images))
    return runs
