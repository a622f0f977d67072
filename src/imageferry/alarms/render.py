"""The alarm e-mail: a short subject and a plain-text body.

Error texts come from registries and AWS and may quote URLs; anything that
looks like a credential (URL user-info, ``Authorization`` values, signed-URL
query parameters, ``password=``) is masked before it goes into a message, so
an alarm never carries a secret even if an error message did.
"""

from __future__ import annotations

import re

from imageferry.alarms.base import Alarm

__all__ = ["MAX_LISTED", "SUBJECT_MAX", "redact", "render_alarm"]

#: SNS refuses subjects longer than 100 characters; we keep SMTP to the same.
SUBJECT_MAX = 100
#: Failed images listed in full; the rest are counted ("and N more").
MAX_LISTED = 20
_ERROR_MAX = 400
_NAME_MAX = 40

_MASK = "***"
_REDACTIONS: list[tuple[re.Pattern[str], str]] = [
    # scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@:]+:[^/\s@]+@"), rf"\1{_MASK}@"),
    # Authorization: Basic xxx / Bearer xxx
    (re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {_MASK}"),
    # signed URLs and key=value secrets
    (
        re.compile(
            r"(?i)\b(x-amz-signature|x-amz-credential|x-amz-security-token|signature|"
            r"token|access_token|password|passwd|secret|secret_access_key|"
            r"aws_secret_access_key)(\s*[=:]\s*)[^\s&,;\"']+"
        ),
        rf"\1\2{_MASK}",
    ),
]
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def redact(text: str) -> str:
    """``text`` with credential-looking parts masked."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _subject(alarm: Alarm) -> str:
    name = _one_line(alarm.task_name or alarm.task_id, _NAME_MAX)
    failed = len(alarm.failed)
    what = f"{failed} of {alarm.total} images failed" if alarm.total else f"{failed} failed"
    # Most telling first: if the limit cuts, it cuts the run id (the body has it).
    subject = f"[{alarm.status}] {what} in task {name} (run {alarm.run_id})"
    return _one_line(subject, SUBJECT_MAX)


def render_alarm(alarm: Alarm, max_listed: int = MAX_LISTED) -> tuple[str, str]:
    """``(subject, body)`` of the alarm message for ``alarm``.

    The subject fits SNS's 100-character limit and has no line breaks; the body
    names the task, the run, the counts, and each failed image with its first
    error (the first ``max_listed``, then "and N more").
    """
    failed = len(alarm.failed)
    lines = [
        f"Transfer task {_one_line(alarm.task_name, 200)!r} (id {alarm.task_id})",
        f"run {alarm.run_id} ended in {alarm.status}.",
        "",
        f"{failed} of {alarm.total} images failed; "
        f"{alarm.copied} copied, {alarm.skipped} already up to date.",
    ]
    if alarm.failed:
        lines += ["", "Failed images and their first errors:"]
        for item in alarm.failed[:max_listed]:
            lines.append(f"  - {_one_line(item.image, 500)}")
            lines.append(f"      {_one_line(redact(item.error), _ERROR_MAX) or '(no error text)'}")
        if failed > max_listed:
            lines.append(f"  ... and {failed - max_listed} more")
    lines += [
        "",
        f"Details: ferry task show {alarm.task_id}",
        f"Retry:   ferry task start {alarm.task_id}",
    ]
    return _subject(alarm), "\n".join(lines) + "\n"
