"""``ferry aws summarize``: the run's outcome from its rows, told once when anything failed.

An image counts as failed when its row says ``Error``, or when it has no row
at all: its batch never finished (the map's result manifest names such
batches with Step Functions' error). One SNS message names the failed images
and their first errors. ``runs/<RUN_ID>/summary.json`` holds the counts and
whether the topic was told: the state machine reads it to end a run with
failed images as failed (the command itself exits 0 once it has reported,
non-zero only when it could not), and a retried summary sends no second
message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from imageferry.awsrun.batches import batches_index_key, read_batch
from imageferry.awsrun.emf import metric_line
from imageferry.awsrun.environment import RunEnvironment
from imageferry.awsrun.rows import image_key
from imageferry.awsrun.storage import RunStorage, split_location

__all__ = ["MAX_LISTED", "Failure", "RunSummary", "message_of", "summarize_run", "summary_key"]

#: Failed images named in the message; the rest are counted.
MAX_LISTED = 50
_MAX_ERROR = 300
_MAX_SUBJECT = 100


@dataclass(frozen=True)
class Failure:
    image: str
    error: str


@dataclass
class RunSummary:
    copied: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    #: Failed images without a row (their batch did not finish).
    unreported: int = 0
    told: bool = False

    @property
    def total(self) -> int:
        return self.copied + self.skipped + len(self.failures)


def _shown(image: str, tag: str) -> str:
    return f"{image}@{tag}" if tag.startswith("sha256:") else f"{image}:{tag}"


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_ERROR else line[: _MAX_ERROR - 3] + "..."


def failed_batches(storage: RunStorage, location: str) -> dict[str, str]:
    """Batch key -> Step Functions' error, from the map's result manifest."""
    bucket, key = split_location(location)
    manifest = storage.get_json(key, bucket)
    where = str(manifest.get("DestinationBucket") or bucket)
    found: dict[str, str] = {}
    for entry in manifest.get("ResultFiles", {}).get("FAILED", []):
        for record in storage.get_json(str(entry["Key"]), where):
            try:
                batch = str(json.loads(record.get("Input") or "{}").get("batch", ""))
            except (ValueError, AttributeError):
                continue
            error = ": ".join(str(record[k]) for k in ("Error", "Cause") if record.get(k))
            found[batch] = _short(error or "the batch failed")
    return found


def summarize_run(
    env: RunEnvironment, storage: RunStorage, say: Callable[[str], None]
) -> RunSummary:
    summary = RunSummary()
    seen: set[tuple[str, str]] = set()
    for row in sorted(storage.run_rows(env.run_id), key=lambda r: (r["Image"], r["Tag"])):
        seen.add((row["Image"], row["Tag"]))
        status = row.get("Status")
        if status == "Done":
            summary.copied += 1
        elif status == "Skipped":
            summary.skipped += 1
        else:
            error = _short(str(row.get("Error") or "no error recorded"))
            summary.failures.append(Failure(_shown(row["Image"], row["Tag"]), error))
    broken = failed_batches(storage, env.results_manifest) if env.results_manifest else {}
    for entry in storage.get_json(batches_index_key(env.run_id)):
        key = str(entry["batch"])
        for pair in read_batch(storage.get_json(key), key):
            image, tag = image_key(str(pair.source))
            if (image, tag) in seen:
                continue
            error = broken.get(key) or f"no result: batch {key} did not finish"
            summary.failures.append(Failure(_shown(image, tag), error))
            summary.unreported += 1
    # Failed images with a row were counted by their batch's metrics already.
    values = {"ImagesFailed": summary.unreported, "RunsFailed": int(bool(summary.failures))}
    say(metric_line(env.namespace, env.task_name, values))
    say(
        f"INFO run {env.run_id}: {summary.copied} copied, {summary.skipped} skipped, "
        f"{len(summary.failures)} failed"
    )
    _record(env, storage, summary, say)
    return summary


def message_of(env: RunEnvironment, summary: RunSummary) -> tuple[str, str]:
    """The SNS subject and message for a run with failed images."""
    failed = len(summary.failures)
    subject = f"imageferry {env.task_name}: {failed} image(s) failed in run {env.run_id}"
    lines = [
        f"Task: {env.task_name}",
        f"Run: {env.run_id}",
        f"Images: {summary.total} ({summary.copied} copied, {summary.skipped} skipped, "
        f"{failed} failed)",
        "",
        "Failed images and their first errors:",
    ]
    lines += [f"- {f.image}: {f.error}" for f in summary.failures[:MAX_LISTED]]
    if failed > MAX_LISTED:
        lines.append(f"... and {failed - MAX_LISTED} more")
    lines += [
        "",
        f"Every image's row: table {env.table}, index ByExecution, Execution = {env.run_id}.",
    ]
    # SNS subjects: ASCII, no line breaks, 100 characters at most.
    subject = subject.encode("ascii", "replace").decode()[:_MAX_SUBJECT]
    return subject, "\n".join(lines)


def summary_key(run_id: str) -> str:
    """The run's counts, which the state machine reads to end the run failed or done."""
    return f"runs/{run_id}/summary.json"


def _record(
    env: RunEnvironment, storage: RunStorage, summary: RunSummary, say: Callable[[str], None]
) -> None:
    """Tell the topic once (a retried summary finds it told), then write the counts."""
    key = summary_key(env.run_id)
    told = storage.exists(key) and bool(storage.get_json(key).get("told"))
    if summary.failures and told:
        say(f"INFO the alarm topic was told about run {env.run_id} already")
    elif summary.failures:
        subject, message = message_of(env, summary)
        storage.publish(subject, message)
        told = True
        say(f"INFO told {env.topic_arn} about {len(summary.failures)} failed image(s)")
    summary.told = told
    counts: dict[str, Any] = {
        "copied": summary.copied,
        "skipped": summary.skipped,
        "failed": len(summary.failures),
        "told": told,
    }
    storage.put_json(key, counts)
