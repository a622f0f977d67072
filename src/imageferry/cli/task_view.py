"""What ``ferry task`` prints: JSON documents and text tables, from the store's records.

Pure functions, no I/O, so that the shapes users script against are tested
directly. ``show``'s JSON has this shape, which scripts rely on:
``{"id", "name", "status", "parameters", "runs": [{"id", "status", "started_at",
"ended_at", "images": [{"source", "destination", "digest", "status",
"bytes_transferred", "bytes_reused", "seconds", "attempts", "error"}]}]}``,
times in ISO 8601 (UTC, with offset), ``null`` while unknown.

The list's columns follow the reference console (Task ID, Source,
Destination, Schedule Type, Status, Created time) plus name and progress
(images done / total of the latest run).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from imageferry.store.records import ImageResultRecord, LogRecord, RunRecord, TaskRecord
from imageferry.tasks.outcome import run_outcome

if TYPE_CHECKING:
    from imageferry.copy import PlannedImage

__all__ = [
    "destination_label",
    "image_json",
    "iso",
    "log_json",
    "log_text",
    "parameter_lines",
    "plan_json",
    "plan_text",
    "progress_label",
    "render_table",
    "run_json",
    "run_result_json",
    "run_summary",
    "schedule_label",
    "show_json",
    "show_text",
    "source_label",
    "task_row_json",
    "task_table",
]


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def source_label(parameters: Mapping[str, str]) -> str:
    """Region (and account), "Public", or the registry the task copies from."""
    if parameters.get("srcRegistry"):
        return parameters["srcRegistry"]
    if parameters.get("sourceType") == "Public":
        return "Public"
    region = parameters.get("srcRegion", "") or "ECR"
    account = parameters.get("srcAccountId", "")
    return f"{region} ({account})" if account else region


def destination_label(parameters: Mapping[str, str]) -> str:
    """Region (and account) or registry, with the destination prefix."""
    if parameters.get("destRegistry"):
        label = parameters["destRegistry"]
    else:
        region = parameters.get("destRegion", "") or "ECR"
        account = parameters.get("destAccountId", "")
        label = f"{region} ({account})" if account else region
    prefix = parameters.get("destPrefix", "")
    return f"{label}/{prefix}" if prefix else label


def schedule_label(task: TaskRecord) -> str:
    if task.schedule_type.value == "ONE_TIME":
        return "ONE_TIME"
    return f"{task.schedule_type.value} {task.schedule_expression}".strip()


def progress_label(latest: RunRecord | None) -> str:
    if latest is None:
        return "-"
    return f"{latest.images_done}/{latest.images_total}"


def task_row_json(task: TaskRecord, latest: RunRecord | None) -> dict[str, Any]:
    """One task of ``ferry task list -o json``."""
    return {
        "id": task.id,
        "name": task.name,
        "source": source_label(task.parameters),
        "destination": destination_label(task.parameters),
        "schedule": schedule_label(task),
        "status": task.status.value,
        "images_done": latest.images_done if latest else 0,
        "images_total": latest.images_total if latest else 0,
        "created_at": iso(task.created_at),
        "latest_run": latest.id if latest else None,
    }


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart; the last column is not padded."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = []
    for row in (headers, *rows):
        cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def task_table(tasks: Sequence[tuple[TaskRecord, RunRecord | None]]) -> str:
    headers = ("ID", "NAME", "SOURCE", "DESTINATION", "SCHEDULE", "STATUS", "PROGRESS", "CREATED")
    rows = [
        (
            task.id,
            task.name or "-",
            source_label(task.parameters),
            destination_label(task.parameters),
            schedule_label(task),
            task.status.value,
            progress_label(latest),
            task.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
        for task, latest in tasks
    ]
    return render_table(headers, rows)


def image_json(result: ImageResultRecord) -> dict[str, Any]:
    return {
        "source": result.source,
        "destination": result.destination,
        "digest": result.digest,
        "status": result.status.value,
        "bytes_transferred": result.bytes_transferred,
        "bytes_reused": result.bytes_reused,
        "seconds": result.seconds,
        "attempts": result.attempts,
        "error": result.error,
    }


def retries(images: Sequence[ImageResultRecord]) -> int:
    """Attempts beyond each image's first: how often the run copied an image again."""
    return sum(max(0, image.attempts - 1) for image in images)


def retry_note(images: Sequence[ImageResultRecord]) -> str:
    """`` (2 images retried, 3 retries)``, or nothing when every image took one attempt."""
    retried = sum(1 for image in images if image.attempts > 1)
    if not retried:
        return ""
    return f" ({retried} image{'s' if retried != 1 else ''} retried, {retries(images)} retries)"


def run_json(run: RunRecord, images: Sequence[ImageResultRecord]) -> dict[str, Any]:
    """A run as ``show`` lists it (exactly these keys)."""
    return {
        "id": run.id,
        "status": run.status.value,
        "started_at": iso(run.started_at),
        "ended_at": iso(run.ended_at),
        "images": [image_json(r) for r in images],
    }


def run_result_json(run: RunRecord, images: Sequence[ImageResultRecord]) -> dict[str, Any]:
    """What ``ferry task run -o json`` prints: the run as ``show`` has it, with its totals."""
    return {
        "task_id": run.task_id,
        "number": run.number,
        "trigger": run.trigger.value,
        **run_json(run, images),
        "images_total": run.images_total,
        "images_copied": run.images_copied,
        "images_skipped": run.images_skipped,
        "images_failed": run.images_failed,
        "bytes_transferred": run.bytes_transferred,
        "bytes_reused": run.bytes_reused,
        "store_bytes": run.store_bytes,
        "image_retries": retries(images),
        "error": run.error,
    }


def show_json(
    task: TaskRecord, runs: Sequence[tuple[RunRecord, Sequence[ImageResultRecord]]]
) -> dict[str, Any]:
    return {
        "id": task.id,
        "name": task.name,
        "status": task.status.value,
        "parameters": dict(task.parameters),
        "runs": [run_json(run, images) for run, images in runs],
    }


def run_summary(run: RunRecord) -> str:
    """``run 3 (r-...) ended DONE: 2 copied, 1 skipped, 0 failed of 3; ... bytes``,
    or ``run 3 (r-...) ended ERROR before any image was selected: <why>``.

    An ended run also says what it added to the store (its results and log lines).
    """
    seconds = f" in {run.seconds:.2f}s" if run.seconds is not None else ""
    stored = f", {run.store_bytes} bytes stored" if run.store_bytes else ""
    volume = f"{run.bytes_transferred} bytes sent, {run.bytes_reused} reused{seconds}{stored}"
    return f"run {run.number} ({run.id}) {run_outcome(run, volume)}"


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S %Z").rstrip()


def parameter_lines(parameters: Mapping[str, str], width: int = 96) -> list[str]:
    """``key = value`` for each parameter that has a value, aligned; the blank ones
    named together at the end, so that the few that matter stand out."""
    given = {key: value for key, value in parameters.items() if value}
    column = max((len(key) for key in given), default=0)
    lines = [f"  {key:<{column}} = {value}" for key, value in given.items()]
    blank = [key for key, value in parameters.items() if not value]
    if blank:
        lines.extend(
            textwrap.wrap(
                "blank: " + ", ".join(blank),
                width=width,
                initial_indent="  ",
                subsequent_indent="    ",
                break_on_hyphens=False,
            )
        )
    return lines


def show_text(
    task: TaskRecord,
    runs: Sequence[RunRecord],
    latest_images: Sequence[ImageResultRecord],
) -> str:
    """Parameters, the run history, and the per-image table of the latest run."""
    lines = [
        f"Task {task.id}" + (f" ({task.name})" if task.name else ""),
        f"  status:      {task.status.value}",
        f"  source:      {source_label(task.parameters)}",
        f"  destination: {destination_label(task.parameters)}",
        f"  schedule:    {schedule_label(task)}",
        *([f"  next run:    {_when(task.next_run_at)}"] if task.next_run_at else []),
        f"  created:     {_when(task.created_at)}",
        "Parameters:",
        *parameter_lines(task.parameters),
        "Runs:" if runs else "Runs: none yet (`ferry task run " + task.id + "`)",
        *(f"  {run_summary(run)}" for run in runs),
    ]
    if runs and latest_images:
        lines.append(f"Images of run {runs[0].number}{retry_note(latest_images)}:")
        rows = [
            (
                r.status.value,
                r.source,
                r.destination,
                r.digest or "-",
                str(r.bytes_transferred),
                f"{r.seconds:.2f}",
                str(r.attempts),
                r.error,
            )
            for r in latest_images
        ]
        headers = (
            "STATUS",
            "SOURCE",
            "DESTINATION",
            "DIGEST",
            "BYTES",
            "SECONDS",
            "ATTEMPTS",
            "ERROR",
        )
        lines.extend("  " + line for line in render_table(headers, rows).splitlines())
    return "\n".join(lines)


def log_text(line: LogRecord) -> str:
    return f"{line.ts.strftime('%Y-%m-%d %H:%M:%S')} {line.level:<7} {line.message}"


def log_json(line: LogRecord) -> dict[str, Any]:
    return {
        "run_id": line.run_id,
        "id": line.seq,
        "ts": iso(line.ts),
        "level": line.level,
        "message": line.message,
    }


def plan_json(
    task_id: str, planned: Sequence[PlannedImage], notes: Sequence[str]
) -> dict[str, Any]:
    from imageferry.runner import planned_json

    return {
        "task_id": task_id,
        "images": [planned_json(p) for p in planned],
        "notes": list(notes),
        "summary": _plan_summary(planned),
    }


def _plan_summary(planned: Sequence[PlannedImage]) -> dict[str, int]:
    return {
        "would_copy": sum(p.status == "would-copy" for p in planned),
        "up_to_date": sum(p.status == "up-to-date" for p in planned),
        "failed": sum(p.status == "failed" for p in planned),
        "bytes_missing": sum(p.bytes_missing for p in planned),
        "bytes_total": sum(p.bytes_total for p in planned),
    }


def plan_text(planned: Sequence[PlannedImage]) -> str:
    from imageferry.runner import describe_planned

    s = _plan_summary(planned)
    lines = [describe_planned(p) for p in planned]
    lines.append(
        f"{s['would_copy']} would be copied, {s['up_to_date']} up to date, {s['failed']} failed; "
        f"{s['bytes_missing']} of {s['bytes_total']} bytes to send"
    )
    return "\n".join(lines)
