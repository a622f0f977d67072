"""Where a task's alarms go, said where a user looks: at create, in each run's log, at serve.

A task's ``alarmEmail`` is only a promise if an alarm backend
(``FERRY_ALARM_BACKEND``: ``smtp`` or ``sns``) is configured. Without one,
runs that fail notify nobody; these functions make that visible instead of
silent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from imageferry.store.status import RunStatus

__all__ = ["NO_BACKEND", "alarm_warnings", "serve_notes", "why_no_alarm"]

#: The backend setting that sends nothing.
NO_BACKEND = "none"

_SET_BACKEND = (
    "set FERRY_ALARM_BACKEND to smtp or sns (and its FERRY_SMTP_* or FERRY_SNS_* settings)"
)


def alarm_warnings(parameters: Mapping[str, str], alarm_backend: str) -> list[str]:
    """Warnings for a task about to be created (or validated) under ``alarm_backend``."""
    email = parameters.get("alarmEmail", "").strip()
    if email and alarm_backend == NO_BACKEND:
        return [
            f"alarmEmail {email} will not be told of failed runs: no alarm backend is "
            f"configured (FERRY_ALARM_BACKEND=none); {_SET_BACKEND}"
        ]
    return []


def why_no_alarm(status: RunStatus, recipient: str, has_backend: bool) -> str | None:
    """Why a finished run sends no alarm, or None when it sends one."""
    if status is not RunStatus.ERROR:
        return f"the run ended {status.value}; alarms are sent for runs that end in ERROR"
    if not recipient:
        return "the task has no alarmEmail"
    if not has_backend:
        return f"no alarm backend is configured (FERRY_ALARM_BACKEND=none); {_SET_BACKEND}"
    return None


def serve_notes(channel: str | None, alarm_emails: Iterable[str]) -> list[str]:
    """The lines ``ferry serve`` prints at start about alarms: the backend in use
    (``channel``, None for none), and a warning when tasks name an alarmEmail
    nobody will write to."""
    if channel is not None:
        return [f"alarms: failed runs are reported by {channel}"]
    notes = ["alarms: none (FERRY_ALARM_BACKEND=none): failed runs notify nobody"]
    waiting = sorted({email for email in alarm_emails if email})
    if waiting:
        shown = ", ".join(waiting[:3]) + (", ..." if len(waiting) > 3 else "")
        notes.append(
            f"ferry: warning: {len(waiting)} alarmEmail address(es) of tasks ({shown}) "
            f"will not be told of failed runs; {_SET_BACKEND}"
        )
    return notes
