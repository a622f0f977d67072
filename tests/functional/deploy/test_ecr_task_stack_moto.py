"""The documents' create-stack command, deployed on moto's CloudFormation.

The template is uploaded to moto's S3 and named by ``--template-url``, as the
documents do, and the AWS CLI (from PyPI) runs the command as written, with
the template's URL in place of ``CLOUDFORMATION_URL``. Variants of the
parameters are created with boto3.
moto creates the resources but runs none: no ECS task or rule fires here, and
it keeps no e-mail subscription or state machine Definition made by a stack.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from fixtures.cfn_template import TEMPLATE_PATH, load_template
from fixtures.reference_seed import SEED_COMMAND
from imageferry.tasks.forms import parse_aws_cli_parameters
from stand_ins.moto import MotoServer

STACK = "dth-ecr-task"
BUCKET = "imageferry-templates"


def _client(service: str) -> Any:
    return boto3.client(service)


AWS_CLI = Path(sys.executable).with_name("aws")


def _upload_template() -> str:
    s3 = _client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=TEMPLATE_PATH.name, Body=TEMPLATE_PATH.read_bytes())
    return f"https://{BUCKET}.s3.amazonaws.com/{TEMPLATE_PATH.name}"


def _create_stack_from_seed(**changes: str) -> dict[str, Any]:
    url = _upload_template()
    if not changes:
        # The documents' command, word for word, by the AWS CLI.
        assert SEED_COMMAND.startswith("aws cloudformation create-stack ")
        command = SEED_COMMAND.replace("CLOUDFORMATION_URL", url).replace("aws ", f"{AWS_CLI} ", 1)
        done = subprocess.run(
            ["bash", "-c", command], env=os.environ.copy(), capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    else:
        _client("cloudformation").create_stack(
            StackName=STACK,
            TemplateURL=url,
            Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[
                {"ParameterKey": k, "ParameterValue": v}
                for k, v in (parse_aws_cli_parameters(SEED_COMMAND) | changes).items()
            ],
        )
    return _settled()


def _settled() -> dict[str, Any]:
    cfn = _client("cloudformation")
    deadline = time.monotonic() + 60
    while True:
        stack: dict[str, Any] = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
        if not stack["StackStatus"].endswith("IN_PROGRESS") or time.monotonic() > deadline:
            return stack
        time.sleep(0.2)


@pytest.fixture
def on_moto(aws_env: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    # Every service of the stack (CloudFormation, S3, Step Functions, ...) goes to moto.
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env.url)
    return aws_env


@pytest.fixture
def stack(on_moto: MotoServer) -> dict[str, Any]:
    return _create_stack_from_seed()


def _created() -> set[str]:
    resources = _client("cloudformation").list_stack_resources(StackName=STACK)
    return {r["LogicalResourceId"] for r in resources["StackResourceSummaries"]}


def test_the_documents_command_creates_the_stack(stack: dict[str, Any]) -> None:
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    given = parse_aws_cli_parameters(SEED_COMMAND)
    read_back = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    # The sixteen as given, every extension at its default.
    defaults = {
        name: str(spec["Default"])
        for name, spec in load_template()["Parameters"].items()
        if name not in given
    }
    assert read_back == given | defaults
    assert read_back["scheduleExpression"] == "rate(1 day)"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert set(outputs) >= {"StateMachineArn", "ResultTableName", "DashboardUrl", "LogGroupName"}
    # Every resource the command's conditions call for: all but the source's ECR read
    # (it has a secret) and the destination's secret (it has none). moto lists the
    # e-mail subscription, which it does not model, without its logical id.
    expected = set(load_template()["Resources"]) - {
        "SourceEcrReadPolicy",
        "DestinationSecretReadPolicy",
        "AlarmSubscription",
    }
    assert _created() - {""} == expected


def test_the_stacks_resources_read_back(stack: dict[str, Any]) -> None:
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}

    # moto keeps a state machine's DefinitionString only, not Definition with its
    # DefinitionSubstitutions; the unit tests check the definition itself.
    machine = _client("stepfunctions").describe_state_machine(
        stateMachineArn=outputs["StateMachineArn"]
    )
    role = _client("iam").get_role(RoleName=machine["roleArn"].rsplit("/", 1)[1])["Role"]
    principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": "states.amazonaws.com"}

    table = _client("dynamodb").describe_table(TableName=outputs["ResultTableName"])["Table"]
    assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == [
        ("Image", "HASH"),
        ("Tag", "RANGE"),
    ]

    rules = _client("events").list_rules()["Rules"]
    assert "rate(1 day)" in [r.get("ScheduleExpression") for r in rules]

    groups = _client("logs").describe_log_groups()["logGroups"]
    assert outputs["LogGroupName"] in [g["logGroupName"] for g in groups]

    dashboards = _client("cloudwatch").list_dashboards()["DashboardEntries"]
    assert outputs["DashboardUrl"].endswith(f"name={dashboards[0]['DashboardName']}")


def test_the_sides_get_the_rights_the_command_asks_for(stack: dict[str, Any]) -> None:
    # The command names a source secret and no destination secret: the task reads
    # that secret, and writes to this account's ECR with its own role.
    created = _created()
    assert {"SourceSecretReadPolicy", "DestinationEcrWritePolicy"} <= created
    assert not {"SourceEcrReadPolicy", "DestinationSecretReadPolicy"} & created


def test_a_one_time_public_task_with_a_destination_secret(on_moto: MotoServer) -> None:
    stack = _create_stack_from_seed(
        sourceType="Public",
        srcList="SELECTED",
        srcImageList="library/alpine:3.20,quay.io/prometheus/node-exporter",
        srcRegion="",
        srcAccountId="",
        srcCredential="",
        destCredential="dev-cn-credential",
        scheduleType="ONE_TIME",
    )
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    created = _created()
    # Runs once, at creation; no ECR source to read or watch; only the named secret.
    assert "StackCompletedRule" in created
    assert not {"ScheduleRule", "SourcePushRule", "SourceEcrReadPolicy"} & created
    assert "DestinationSecretReadPolicy" in created
    assert not {"SourceSecretReadPolicy", "DestinationEcrWritePolicy"} & created
