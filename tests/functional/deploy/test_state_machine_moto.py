"""A whole run of ``state-machine.asl.json``: on moto's Step Functions as far as moto
gets, then played by the test (:mod:`fixtures.asl_walk`) with the real commands.

moto's simulation (``/moto-api/config`` ``execute_state_machine``) runs the
definition, with the substitutions the template gives it, until a Task whose
``Parameters`` must be translated to the service's API: moto passes them to
boto3 as written, so its first state (``aws-sdk:sfn:listExecutions``) fails
there, and no ``ecs:runTask`` could start a container either. Its parser also
reads ``ToleratedFailurePercentage`` only as a decimal: the test gives moto
``100.0`` for the definition's ``100`` (the same number).

From there the test plays each state as Step Functions would: it runs each ECS
state's container command itself (``ferry aws plan`` / ``copy-batch`` /
``summarize``) with exactly the environment the definition's
``ContainerOverrides`` give it, evaluated against the execution, and the other
states (the overlap check, the Distributed Map's reader and result writer, the
SNS publish) against moto. The run ends with rows in DynamoDB, images at the
destination and, for the run with a failed image, one SNS message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.asl_walk import EcsStep, Played
from fixtures.aws_run import STACK_NAME, Stack
from fixtures.state_machine import (
    CLUSTER,
    ROLE,
    aws_client,
    create_state_machine,
    for_moto,
    play_run,
    stack_definition,
)
from fixtures.tasks import CURRENT_ACCOUNT, ecr_image
from imageferry.ecr.hosts import EcrRegistry
from stand_ins.ecr import EcrStandIn
from stand_ins.images import push_image
from stand_ins.moto import MotoServer
from stand_ins.registry import LocalRegistry
from stand_ins.skopeo import inspect_digest

REGION = "us-east-1"


@pytest.fixture
def executing(aws_env: MotoServer) -> Iterator[MotoServer]:
    """moto runs state machines in this test only (its server is the session's)."""
    aws_env.configure({"stepfunctions": {"execute_state_machine": True}})
    try:
        yield aws_env
    finally:
        aws_env.configure({"stepfunctions": {"execute_state_machine": False}})


def _on_moto(moto: MotoServer, definition: str, execution: str) -> tuple[str, list[str], str]:
    """Create the state machine on moto and run it as far as moto can: (arn, states, end)."""
    sfn = aws_client(moto, "stepfunctions", REGION)
    arn = sfn.create_state_machine(
        name=f"{STACK_NAME}-StateMachine",
        definition=for_moto(definition),
        roleArn=ROLE.format(account=CURRENT_ACCOUNT),
    )["stateMachineArn"]
    started = sfn.start_execution(
        stateMachineArn=arn, name=execution, input=json.dumps({"trigger": "schedule"})
    )
    deadline = time.monotonic() + 30
    while (
        status := sfn.describe_execution(executionArn=started["executionArn"])["status"]
    ) == "RUNNING":
        assert time.monotonic() < deadline, "moto's execution did not end"
        time.sleep(0.1)
    events = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]
    failed = [e for e in events if e["type"] == "ExecutionFailed"]
    end = status
    if failed:
        details = failed[0]["executionFailedEventDetails"]
        end = f"{status}: {details.get('error')}: {details.get('cause', '')[:200]}"
    return arn, entered, end


def _make_stack(
    moto: MotoServer, accounts: EcrStandIn, tmp_path: Path, parameters: dict[str, str]
) -> tuple[Stack, dict[str, str], str]:
    dst = EcrRegistry(CURRENT_ACCOUNT, "us-west-2")
    accounts.ensure_account(dst.account_id, dst.region)
    mirrors = ",".join(f"{k}={v}" for k, v in accounts.mirrors().items())
    stack = Stack(
        moto,
        REGION,
        CURRENT_ACCOUNT,
        parameters | {"ecsClusterName": CLUSTER},
        {"FERRY_REGISTRY_MIRRORS": mirrors, "FERRY_DATA_DIR": str(tmp_path / "data")},
    )
    substitutions, definition = stack_definition(stack)
    return stack, substitutions, definition


def _play(
    stack: Stack, substitutions: dict[str, str], definition: str, arn: str, name: str
) -> Played:
    def run_container(step: EcsStep) -> int:
        ran = stack.ferry(*step.command, **step.environment)
        print(f"[{step.state}, run by the test] {ran}")
        return ran.code

    return play_run(stack, substitutions, definition, arn, name, run_container)


def test_a_run_with_a_failed_image_on_moto_then_played(
    executing: MotoServer, accounts: EcrStandIn, src_registry: LocalRegistry, tmp_path: Path
) -> None:
    good = push_image(src_registry.url, "good", "1", seed="good")
    host = src_registry.host
    stack, substitutions, definition = _make_stack(
        executing,
        accounts,
        tmp_path,
        {
            "sourceType": "Public",
            "srcList": "SELECTED",
            "srcImageList": f"{host}/good:1,{host}/missing:9.9",
            "destRegion": "us-west-2",
        },
    )

    arn, entered, end = _on_moto(executing, definition, "on-moto")
    print(f"moto ran {entered} and ended {end}")
    assert entered[0] == "ListRunningExecutions"
    # moto cannot start the run's containers; if it ever runs further, let it.
    assert not end.startswith("SUCCEEDED"), f"moto now runs {entered}: let it run those states"

    played = _play(stack, substitutions, definition, arn, "run-sm")
    # A run with a failed image ends failed, told once by the summary.
    assert (played.status, played.error, played.states) == (
        "FAILED",
        "ImagesFailed",
        [
            "ListRunningExecutions",
            "IsAnotherRunInProgress",
            "Plan",
            "CopyBatches",
            "CopyBatch",
            "Summarize",
            "ReadSummary",
            "AnyImageFailed",
            "ImagesFailed",
        ],
    )
    plan, copy, summarize = played.containers
    assert plan.command == ("aws", "plan")
    assert plan.environment == {"RUN_ID": "run-sm", "RUN_INPUT": '{"trigger":"schedule"}'}
    assert copy.environment == {"RUN_ID": "run-sm", "BATCH_KEY": "runs/run-sm/batches/00001.json"}
    assert summarize.environment["RESULTS_MANIFEST"].startswith(f"{stack.bucket}/results/")

    rows = stack.rows("run-sm")
    assert {key: row["Status"] for key, row in rows.items()} == {
        (f"{host}/good", "1"): "Done",
        (f"{host}/missing", "9.9"): "Error",
    }
    location, login = ecr_image(accounts, EcrRegistry(CURRENT_ACCOUNT, "us-west-2"), "good:1")
    assert inspect_digest(location, creds=login) == good.digest
    (message,) = stack.messages()
    assert f"- {host}/missing:9.9: " in message["message"]


def test_a_run_without_failures_ends_done(
    executing: MotoServer, accounts: EcrStandIn, tmp_path: Path
) -> None:
    """The definition's other ending, with stand-in containers (``ferry``'s side of it,
    ``summary.json`` without failures, is checked in test_aws_steps.py)."""
    stack, substitutions, definition = _make_stack(
        executing, accounts, tmp_path, {"srcRegion": REGION, "destRegion": "us-west-2"}
    )
    arn = create_state_machine(stack, definition, "done")

    def container(step: EcsStep) -> int:
        run_id = step.environment["RUN_ID"]
        written = {
            "plan": (f"runs/{run_id}/batches.json", []),
            "summarize": (f"runs/{run_id}/summary.json", {"failed": 0, "told": False}),
        }[step.command[-1]]
        stack.s3.put_object(Bucket=stack.bucket, Key=written[0], Body=json.dumps(written[1]))
        return 0

    played = play_run(
        stack, substitutions, definition, arn, "run-done", container, {"trigger": "stack"}
    )
    assert played.status == "SUCCEEDED"
    assert played.states[-3:] == ["ReadSummary", "AnyImageFailed", "RunDone"]
    assert "CopyBatch" not in played.states
    assert stack.messages() == []


def test_a_run_whose_plan_fails_is_told_by_the_state_machine(
    executing: MotoServer, accounts: EcrStandIn, tmp_path: Path
) -> None:
    stack, substitutions, definition = _make_stack(
        executing, accounts, tmp_path, {"srcRegion": REGION, "destRegion": "mars-1"}
    )
    arn = create_state_machine(stack, definition, "plan-fails")
    played = _play(stack, substitutions, definition, arn, "run-bad")
    assert (played.status, played.error) == ("FAILED", "RunFailed")
    assert played.states[-3:] == ["Plan", "NotifyRunFailed", "RunFailed"]
    (message,) = stack.messages()
    told = json.loads(message["message"])
    assert told["error"] == "The run failed before it could summarize its images"
    assert told["cause"]["Error"] == "States.TaskFailed"
