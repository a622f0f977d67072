"""Where alarms go, told at create, at the end of each run and when the server starts."""

from __future__ import annotations

import pytest

from imageferry.store.status import RunStatus
from imageferry.tasks.alarm_routing import alarm_warnings, serve_notes, why_no_alarm


def test_an_alarm_email_without_a_backend_is_warned_of() -> None:
    [warning] = alarm_warnings({"alarmEmail": "ops@example.com"}, "none")
    assert warning.startswith("alarmEmail ops@example.com will not be told of failed runs")
    assert "set FERRY_ALARM_BACKEND to smtp or sns" in warning


@pytest.mark.parametrize(
    ("parameters", "backend"),
    [({"alarmEmail": "ops@example.com"}, "smtp"), ({"alarmEmail": ""}, "none"), ({}, "none")],
)
def test_nothing_to_warn_of(parameters: dict[str, str], backend: str) -> None:
    assert alarm_warnings(parameters, backend) == []


@pytest.mark.parametrize(
    ("status", "recipient", "backend", "why"),
    [
        (RunStatus.DONE, "a@b.c", True, "the run ended DONE; alarms are sent for runs that end"),
        (RunStatus.STOPPED, "a@b.c", True, "the run ended STOPPED"),
        (RunStatus.ERROR, "", True, "the task has no alarmEmail"),
        (RunStatus.ERROR, "a@b.c", False, "no alarm backend is configured"),
    ],
)
def test_why_no_alarm(status: RunStatus, recipient: str, backend: bool, why: str) -> None:
    reason = why_no_alarm(status, recipient, backend)
    assert reason is not None and reason.startswith(why)


def test_a_failed_run_with_a_recipient_and_a_backend_sends() -> None:
    assert why_no_alarm(RunStatus.ERROR, "a@b.c", True) is None


def test_serve_names_the_backend_or_warns() -> None:
    assert serve_notes("SMTP server mail:25", ["a@b.c"]) == [
        "alarms: failed runs are reported by SMTP server mail:25"
    ]
    assert serve_notes(None, ["", ""]) == [
        "alarms: none (FERRY_ALARM_BACKEND=none): failed runs notify nobody"
    ]
    notes = serve_notes(None, ["d@x", "a@x", "a@x", "c@x", "b@x"])
    assert notes[1].startswith(
        "ferry: warning: 4 alarmEmail address(es) of tasks (a@x, b@x, c@x, ...) will not be told"
    )
