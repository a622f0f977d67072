"""A task's parameters as the per-task template's parameters.

The template takes the reference's sixteen unchanged, plus the extensions a
stack can carry (schedule, tag filters, platforms, referrers, concurrency,
worker count, image). :func:`stack_parameters` maps a validated
:class:`~imageferry.tasks.params.TaskSpec` onto them, and refuses, with every
problem listed at once, what a stack cannot do as the task says: parameters the
container is not given (``srcRegistry``, ``destRegistry``, the ECR repository
settings, ``multiArch``) and the values the template requires that a local task
may leave blank (the ECS network and the alarm e-mail).

Schedules: EventBridge's ``rate()`` takes one unit, singular for one; its
``cron()`` has six fields, one of day-of-month and day-of-week must be ``?``,
and its days of the week count from 1 (Sunday), where cron counts from 0.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from imageferry.errors import InvalidReference
from imageferry.reference import Reference
from imageferry.tasks.params import Problem, TaskSpec, TaskSpecError, parse_rate

__all__ = [
    "DEFAULT_WORKERS",
    "REFERENCE_PARAMETERS",
    "StackOptions",
    "eventbridge_cron",
    "eventbridge_rate",
    "stack_parameters",
]

#: The reference's sixteen, in its table's order: passed to the stack as the task has them.
REFERENCE_PARAMETERS = (
    "sourceType",
    "srcRegion",
    "srcAccountId",
    "srcList",
    "srcImageList",
    "srcCredential",
    "destRegion",
    "destAccountId",
    "destPrefix",
    "destCredential",
    "includeUntagged",
    "ecsClusterName",
    "ecsVpcId",
    "ecsSubnetA",
    "ecsSubnetB",
    "alarmEmail",
)
#: The template's default for workerCount.
DEFAULT_WORKERS = 4
MAX_WORKERS = 100
#: The stack has no use for these parameters' values other than the default.
_NOT_IN_STACK = {
    "srcRegistry": "",
    "destRegistry": "",
    "multiArch": "all",
    "destScanOnPush": "false",
    "destTagMutability": "MUTABLE",
    "destEncryption": "AES256",
    "destKmsKey": "",
}
#: Blank is fine for a local task, not for the template (no default, or an e-mail pattern).
_STACK_NEEDS = (
    "destRegion",
    "ecsClusterName",
    "ecsVpcId",
    "ecsSubnetA",
    "ecsSubnetB",
    "alarmEmail",
)
_SECONDS = (("day", 86_400), ("hour", 3_600), ("minute", 60))
_DAY_NUMBER = re.compile(r"(?<![/\d])(\d+)(?:-(\d+))?")


@dataclass(frozen=True, slots=True)
class StackOptions:
    """What the stack takes beyond the task's parameters."""

    worker_count: int = DEFAULT_WORKERS
    #: Blank: the template's own default (this account's imageferry repository).
    image_uri: str = ""


def eventbridge_rate(expression: str) -> str:
    """``6h`` or ``rate(360 minutes)`` as ``rate(6 hours)``: the largest whole unit."""
    seconds = int(parse_rate(expression).total_seconds())
    for unit, size in _SECONDS:
        if seconds % size == 0:
            count = seconds // size
            return f"rate({count} {unit}{'' if count == 1 else 's'})"
    raise ValueError(f"{expression!r} is not a whole number of minutes")  # parse_rate forbids


def _weekday(match: re.Match[str]) -> str:
    start, end = int(match.group(1)), match.group(2)
    if end is None:
        return str(start % 7 + 1)
    last = int(end)
    if last == 7 and start > 0:  # Friday-Sunday: EventBridge's week ends on Saturday
        return f"{start + 1}-7,1"
    return f"{start % 7 + 1}-{last % 7 + 1}"


def eventbridge_cron(expression: str) -> str:
    """A 5-field cron expression (UTC, as ferry task reads it) in EventBridge's form.

    ``0 3 * * *`` is ``cron(0 3 * * ? *)``; ``0 3 * * 1-5`` is ``cron(0 3 ? * 2-6 *)``.
    Raises ValueError when both day fields are restricted: cron runs on either,
    and EventBridge cannot say that.
    """
    minute, hour, day, month, weekday = expression.split()
    if day != "*" and weekday != "*":
        raise ValueError(
            f"{expression!r} restricts both the day of the month and the day of the week, "
            "which EventBridge cannot express; keep one of them '*'"
        )
    if weekday == "*":
        weekday = "?"
    else:
        day = "?"
        weekday = _DAY_NUMBER.sub(_weekday, weekday)
    return f"cron({minute} {hour} {day} {month} {weekday} *)"


def _schedule(spec: TaskSpec, problems: list[Problem]) -> str:
    """The scheduleExpression parameter; ONE_TIME and ON_PUSH pass the unused default."""
    try:
        if spec.scheduleType == "FIXED_RATE":
            return eventbridge_rate(spec.scheduleExpression)
        if spec.scheduleType == "CRON":
            return eventbridge_cron(spec.scheduleExpression)
    except ValueError as e:
        problems.append(Problem("scheduleExpression", str(e)))
    return "rate(1 day)"


def stack_parameters(
    parameters: Mapping[str, str], options: StackOptions = StackOptions()
) -> dict[str, str]:
    """The template's parameters for a task; TaskSpecError listing every problem.

    Every template parameter is given, so an update never falls back to a
    default the task did not choose.
    """
    spec = TaskSpec.from_parameters(parameters)
    values = spec.parameters()
    problems: list[Problem] = []
    for name, default in _NOT_IN_STACK.items():
        if values[name] != default:
            problems.append(
                Problem(
                    name,
                    f"{values[name]!r} cannot be deployed: the stack's container takes no "
                    f"{name}; leave it {repr(default) if default else 'blank'}, or run this "
                    "task with `ferry task run` or `ferry serve` instead",
                )
            )
    for name in _STACK_NEEDS:
        if not values[name]:
            problems.append(Problem(name, "is required to deploy the task to AWS; give its value"))
    if options.image_uri:
        try:
            Reference.parse(options.image_uri)
        except InvalidReference as e:
            problems.append(
                Problem(
                    "imageUri (--image-uri)",
                    f"{options.image_uri!r} is not an image reference ({e}); give e.g. "
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/imageferry:latest",
                )
            )
    if not 1 <= options.worker_count <= MAX_WORKERS:
        problems.append(
            Problem("workerCount", f"{options.worker_count} is not from 1 to {MAX_WORKERS}")
        )
    stack = {name: values[name] for name in REFERENCE_PARAMETERS}
    stack.update(
        scheduleType=spec.scheduleType,
        scheduleExpression=_schedule(spec, problems),
        includeTags=values["includeTags"],
        excludeTags=values["excludeTags"],
        platforms=values["platforms"],
        copyReferrers=values["copyReferrers"],
        concurrency=values["concurrency"],
        workerCount=str(options.worker_count),
        imageUri=options.image_uri,
    )
    if problems:
        raise TaskSpecError(problems)
    return stack
