"""``ferry task deploy``'s work: a stored task onto its CloudFormation stack, and back.

:func:`deploy_task` checks the task's parameters for a stack first (no AWS
call when they cannot be deployed), then creates or updates the stack and
records where it is in the store, so later deploys and ``ferry task show``
find it. Options not given again keep the values of the last deploy. A
deployed task runs on the stack's schedule: the local scheduler (``ferry
serve``) no longer starts it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from imageferry.aws import aws_client, aws_session
from imageferry.deploy_aws.parameters import DEFAULT_WORKERS, StackOptions, stack_parameters
from imageferry.deploy_aws.runs import DeployedRun, read_runs
from imageferry.deploy_aws.stack import StackFailed, StackResult, deploy_stack, describe_stack
from imageferry.deploy_aws.template import template_body
from imageferry.errors import ConfigError
from imageferry.store.deployments import DeploymentRecord
from imageferry.store.records import TaskRecord
from imageferry.tasks.params import is_region

if TYPE_CHECKING:
    from imageferry.store import Store

__all__ = [
    "DeployRequest",
    "Deployed",
    "default_stack_name",
    "deploy_task",
    "deployed_runs",
]

_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9-]+")
#: CloudFormation's rule for stack names.
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")


@dataclass(frozen=True, slots=True)
class DeployRequest:
    """What the command line asked for; None: as last deployed, else the default."""

    stack_name: str | None = None
    region: str | None = None
    worker_count: int | None = None
    image_uri: str | None = None
    wait: bool = True


@dataclass(frozen=True, slots=True)
class Deployed:
    deployment: DeploymentRecord
    result: StackResult


def default_stack_name(task_id: str) -> str:
    """``imageferry-<task id>``: a CloudFormation stack name (letters, digits, '-')."""
    return "imageferry-" + _NOT_IN_NAME.sub("-", task_id).strip("-")


def _region(asked: str | None, previous: DeploymentRecord | None) -> str:
    if asked:
        if not is_region(asked):
            raise ConfigError(
                f"--region {asked!r} is not an AWS region name; give the ECS cluster's "
                "region, e.g. us-east-1 or cn-north-1"
            )
        return asked
    if previous is not None:
        return previous.region
    region = aws_session().region_name
    if not region:
        raise ConfigError(
            "no AWS region for the stack; pass --region (where the ECS cluster, VPC and "
            "subnets are) or set AWS_DEFAULT_REGION"
        )
    if not is_region(str(region)):
        raise ConfigError(
            f"the AWS region {region!r} (AWS_DEFAULT_REGION or the profile's) is not an AWS "
            "region name; pass --region, e.g. us-east-1"
        )
    return str(region)


def _stack_name(asked: str | None, previous: DeploymentRecord | None, task_id: str) -> str:
    if asked and not _STACK_NAME.match(asked):
        raise ConfigError(
            f"--stack-name {asked!r} is not a stack name; CloudFormation's start with a "
            "letter and hold only letters, digits and '-' (at most 128)"
        )
    return asked or (previous.stack_name if previous else None) or default_stack_name(task_id)


def missing_secrets(session: Any, parameters: dict[str, str]) -> list[str]:
    """The credential secrets the stack's runs will read that its region does not have.

    Best effort: a secret that cannot be looked up (no permission) is not reported.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    client = aws_client(session, "secretsmanager")
    missing = []
    for name in dict.fromkeys(parameters[p] for p in ("srcCredential", "destCredential")):
        if not name:
            continue
        try:
            client.describe_secret(SecretId=name)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                missing.append(name)
        except BotoCoreError:
            pass
    return missing


def deploy_task(
    store: Store,
    task: TaskRecord,
    request: DeployRequest,
    *,
    progress: Callable[[str], None] = lambda _: None,
    warn: Callable[[str], None] = lambda _: None,
    sleep: Callable[[float], None] | None = None,
) -> Deployed:
    """Create or update ``task``'s stack; TaskSpecError before any AWS call if it cannot be."""
    previous = store.get_deployment(task.id)
    options = StackOptions(
        worker_count=request.worker_count
        if request.worker_count is not None
        else (previous.worker_count if previous else DEFAULT_WORKERS),
        image_uri=request.image_uri
        if request.image_uri is not None
        else (previous.image_uri if previous else ""),
    )
    parameters = stack_parameters(task.parameters, options)
    name = _stack_name(request.stack_name, previous, task.id)
    region = _region(request.region, previous)
    owner = store.stack_owner(name, region)
    if owner is not None and owner.task_id != task.id:
        raise ConfigError(
            f"stack {name} in {region} is task {owner.task_id}'s; deploying task {task.id} "
            "there would turn it into this task: give another --stack-name"
        )
    session = aws_session(region)
    cfn = aws_client(session, "cloudformation")
    for secret in missing_secrets(session, parameters):
        warn(
            f"secret {secret!r} is not in AWS Secrets Manager in {region}, where the stack's "
            "runs read it (a `ferry secret put` secret stays on this machine unless "
            "FERRY_SECRET_BACKEND=aws); its runs fail until it is there"
        )
    recorded: list[DeploymentRecord] = []

    def started(stack_id: str) -> None:
        # The stack's schedule runs the task from now on, not this machine's scheduler.
        store.set_next_run(task.id, None)
        recorded.append(
            store.set_deployment(
                task.id,
                stack_name=name,
                region=region,
                stack_id=stack_id,
                worker_count=options.worker_count,
                image_uri=options.image_uri,
            )
        )

    extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
    result = deploy_stack(
        cfn,
        name,
        region,
        template_body(),
        parameters,
        wait=request.wait,
        started=started,
        progress=progress,
        **extra,
    )
    return Deployed(recorded[-1], result)


def deployed_runs(
    store: Store, task: TaskRecord
) -> tuple[DeploymentRecord, list[DeployedRun]] | None:
    """The deployment and its runs (newest first), or None when the task is not deployed."""
    deployment = store.get_deployment(task.id)
    if deployment is None:
        return None
    session = aws_session(deployment.region)
    cfn = aws_client(session, "cloudformation")
    stack = describe_stack(cfn, deployment.stack_name, deployment.region)
    if stack is None:
        raise StackFailed(
            f"task {task.id} was deployed to stack {deployment.stack_name!r} in "
            f"{deployment.region}, which no longer exists; deploy it again with "
            f"`ferry task deploy {task.id}`"
        )
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if "StateMachineArn" not in outputs or "ResultTableName" not in outputs:
        raise StackFailed(
            f"stack {deployment.stack_name!r} in {deployment.region} is "
            f"{stack['StackStatus']} and has no state machine or table to read runs from"
        )
    runs = read_runs(
        aws_client(session, "stepfunctions"),
        aws_client(session, "dynamodb"),
        task_id=task.id,
        region=deployment.region,
        state_machine_arn=outputs["StateMachineArn"],
        table=outputs["ResultTableName"],
        prefix=task.parameters.get("destPrefix", "").strip().rstrip("/"),
    )
    return deployment, runs
