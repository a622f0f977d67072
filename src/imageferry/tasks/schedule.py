"""When a task runs next: ONE_TIME, FIXED_RATE and CRON.

The reference has one fixed ``rate(1 day)`` EventBridge rule; we keep that as
the default and add custom rates and cron. Times are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

from imageferry.store.status import ScheduleType
from imageferry.tasks.params import parse_rate

__all__ = ["first_run_at", "next_run_after"]


def first_run_at(schedule_type: ScheduleType, expression: str, now: datetime) -> datetime | None:
    """When a new task first runs: at once for ONE_TIME and FIXED_RATE (as the
    reference starts at stack creation), at the next matching time for CRON,
    never by the clock for ON_PUSH (its runs start with push events)."""
    if schedule_type is ScheduleType.ON_PUSH:
        return None
    if schedule_type is ScheduleType.CRON:
        return _next_cron(expression, now)
    return now


def next_run_after(
    schedule_type: ScheduleType, expression: str, previous: datetime
) -> datetime | None:
    """The run after one due at ``previous``; None when the task is done (ONE_TIME).

    FIXED_RATE counts from the previous due time, not from when a run ended, so
    a slow run does not drift the schedule; a run still going at the next due
    time is not overlapped (the scheduler skips that slot).
    """
    if schedule_type in (ScheduleType.ONE_TIME, ScheduleType.ON_PUSH):
        return None
    if schedule_type is ScheduleType.FIXED_RATE:
        return previous + parse_rate(expression)
    return _next_cron(expression, previous)


def _next_cron(expression: str, after: datetime) -> datetime:
    from croniter import croniter  # loaded by scheduled tasks only

    base = after if after.tzinfo is not None else after.replace(tzinfo=UTC)
    value = croniter(expression, base).get_next(datetime)
    assert isinstance(value, datetime)
    return value
