"""A task's parameters as the template's: schedules in EventBridge's form, refusals listed."""

from __future__ import annotations

import pytest

from fixtures.cfn_template import load_template
from fixtures.reference_seed import SEED_COMMAND
from imageferry.deploy_aws.parameters import (
    StackOptions,
    eventbridge_cron,
    eventbridge_rate,
    stack_parameters,
)
from imageferry.tasks.forms import parse_aws_cli_parameters
from imageferry.tasks.params import TaskSpecError

SEED = parse_aws_cli_parameters(SEED_COMMAND)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("rate(1 day)", "rate(1 day)"),
        ("1d", "rate(1 day)"),
        ("6h", "rate(6 hours)"),
        ("rate(360 minutes)", "rate(6 hours)"),
        ("rate(90 minutes)", "rate(90 minutes)"),
        ("48h", "rate(2 days)"),
        ("1m", "rate(1 minute)"),
    ],
)
def test_rates_take_the_largest_whole_unit(given: str, expected: str) -> None:
    assert eventbridge_rate(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("0 3 * * *", "cron(0 3 * * ? *)"),
        ("*/15 * * * *", "cron(*/15 * * * ? *)"),
        ("0 3 1 * *", "cron(0 3 1 * ? *)"),
        # cron counts weekdays from 0 (Sunday), EventBridge from 1.
        ("30 2 * * 1-5", "cron(30 2 ? * 2-6 *)"),
        ("0 0 * * 0", "cron(0 0 ? * 1 *)"),
        ("0 0 * * 7", "cron(0 0 ? * 1 *)"),
        ("0 0 * * 5-7", "cron(0 0 ? * 6-7,1 *)"),
        ("0 0 * * 1,3", "cron(0 0 ? * 2,4 *)"),
        ("0 0 * * MON-FRI", "cron(0 0 ? * MON-FRI *)"),
        ("0 0 * * */2", "cron(0 0 ? * */2 *)"),
    ],
)
def test_cron_takes_eventbridges_six_fields(given: str, expected: str) -> None:
    assert eventbridge_cron(given) == expected


def test_cron_on_both_day_fields_is_refused() -> None:
    with pytest.raises(ValueError, match="EventBridge cannot express"):
        eventbridge_cron("0 0 1 * 1")


def test_the_documents_parameters_map_onto_every_template_parameter() -> None:
    stack = stack_parameters(SEED)
    assert set(stack) == set(load_template()["Parameters"])
    assert {k: stack[k] for k in SEED} == SEED
    assert stack["workerCount"] == "4"
    assert stack["imageUri"] == ""
    assert stack["scheduleExpression"] == "rate(1 day)"


def test_extensions_and_options_reach_the_stack() -> None:
    stack = stack_parameters(
        {
            **SEED,
            "scheduleType": "ONE_TIME",
            "includeTags": r"v\d+",
            "platforms": "linux/amd64, linux/arm64",
            "copyReferrers": "true",
            "concurrency": "16",
        },
        StackOptions(worker_count=12, image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/f:1"),
    )
    assert stack["scheduleType"] == "ONE_TIME"
    # Unused for ONE_TIME, but the template's pattern wants a schedule.
    assert stack["scheduleExpression"] == "rate(1 day)"
    assert stack["includeTags"] == r"v\d+"
    assert stack["platforms"] == "linux/amd64,linux/arm64"
    assert (stack["copyReferrers"], stack["concurrency"]) == ("true", "16")
    assert stack["workerCount"] == "12"
    assert stack["imageUri"].endswith("/f:1")


def test_what_a_stack_cannot_do_is_refused_all_at_once() -> None:
    local = {
        **SEED,
        "ecsSubnetB": "",
        "alarmEmail": "",
        "srcRegistry": "localhost:5000",
        "multiArch": "system",
        "scheduleType": "CRON",
        "scheduleExpression": "0 0 1 * 1",
    }
    with pytest.raises(TaskSpecError) as caught:
        stack_parameters(local, StackOptions(worker_count=0))
    named = [p.parameter for p in caught.value.problems]
    assert named == [
        "srcRegistry",
        "multiArch",
        "ecsSubnetB",
        "alarmEmail",
        "workerCount",
        "scheduleExpression",
    ]


def test_invalid_task_parameters_are_the_tasks_own_problems() -> None:
    with pytest.raises(TaskSpecError) as caught:
        stack_parameters({**SEED, "sourceType": "Docker_Hub"})
    assert [p.parameter for p in caught.value.problems] == ["sourceType"]
