"""Create or update one task's CloudFormation stack, and wait for it to settle.

:func:`deploy_stack` creates the stack when it does not exist and updates it
when it does; "No updates are to be performed" is success (the stack already
says what the task says). A stack that fails ends as a :class:`StackFailed`
naming the first resource that failed and CloudFormation's reason for it,
read from the stack's events, since the stack's own status reason ("The
following resource(s) failed to create: [...]") names no cause.

The client is injected (a boto3 CloudFormation client from
:func:`imageferry.aws.aws_client`), and so are the clock and the pause between
polls, so tests against moto need not wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from imageferry.aws_errors import CLOUDFORMATION, AwsCall, aws_errors
from imageferry.errors import ConfigError, FerryError

__all__ = [
    "CAPABILITIES",
    "TEMPLATE_DESCRIPTION",
    "StackFailed",
    "StackResult",
    "deploy_stack",
    "describe_stack",
    "first_failure",
    "wait_for_stack",
]

#: The template names no IAM resource, but the reference's command passes this, and
#: a named one would need it: CloudFormation accepts it for unnamed ones too.
CAPABILITIES = ("CAPABILITY_NAMED_IAM",)
POLL_SECONDS = 5.0
_NO_CHANGE = "No updates are to be performed"
_SETTLED_BAD = {
    "CREATE_FAILED",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "DELETE_COMPLETE",
    "DELETE_FAILED",
    "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_FAILED",
    "UPDATE_FAILED",
    "IMPORT_ROLLBACK_COMPLETE",
    "IMPORT_ROLLBACK_FAILED",
}
#: A stack that never got created: it can only be deleted.
#: How the packaged template's Description starts (stacks made from it, by any route).
TEMPLATE_DESCRIPTION = "imageferry - one container image transfer task"
_DEAD = {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED"}


class StackFailed(FerryError):
    """The stack ended in a failed or rolled-back state."""


@dataclass(frozen=True, slots=True)
class StackResult:
    """How a deploy ended: ``action`` create, update or none; the stack's status."""

    stack_id: str
    action: str
    status: str
    outputs: Mapping[str, str]


def describe_stack(cfn: Any, name: str, region: str) -> dict[str, Any] | None:
    """The stack's description, or None when no stack has that name."""
    from botocore.exceptions import ClientError

    call = AwsCall(CLOUDFORMATION, region, "DescribeStacks", f"stack {name!r}")
    with aws_errors(call):
        try:
            stacks = cfn.describe_stacks(StackName=name)["Stacks"]
        except ClientError as e:
            if "does not exist" in str(e.response.get("Error", {}).get("Message", "")):
                return None
            raise
    stack: dict[str, Any] = stacks[0]
    return stack


def first_failure(cfn: Any, name: str, region: str, since: Any = None) -> str:
    """``resource X (type): reason`` of the operation's first failed resource."""
    call = AwsCall(CLOUDFORMATION, region, "DescribeStackEvents", f"stack {name!r}")
    events: list[dict[str, Any]] = []
    with aws_errors(call):
        for page in cfn.get_paginator("describe_stack_events").paginate(StackName=name):
            events.extend(page["StackEvents"])
    # Newest first from AWS; the first failure is the cause, the rest follow from it.
    for event in reversed(events):
        if since is not None and event["Timestamp"] < since:
            continue
        reason = str(event.get("ResourceStatusReason", ""))
        if not event["ResourceStatus"].endswith("_FAILED") or "cancelled" in reason.lower():
            continue
        if event["LogicalResourceId"] == name:
            continue
        return f"resource {event['LogicalResourceId']} ({event['ResourceType']}): {reason}"
    return "CloudFormation names no failed resource; see the stack's events"


def wait_for_stack(
    cfn: Any,
    name: str,
    region: str,
    *,
    progress: Callable[[str], None] = lambda _: None,
    poll: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll until the stack leaves ``*_IN_PROGRESS``; tell ``progress`` each new status."""
    seen = ""
    while True:
        stack = describe_stack(cfn, name, region)
        if stack is None:
            raise StackFailed(f"stack {name!r} in {region} is gone (deleted while deploying?)")
        status = str(stack["StackStatus"])
        if status != seen:
            progress(status)
            seen = status
        if not status.endswith("_IN_PROGRESS"):
            return stack
        sleep(poll)


def _outputs(stack: Mapping[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _unchanged(
    cfn: Any,
    stack: Mapping[str, Any],
    region: str,
    template: str,
    parameters: Mapping[str, str],
) -> bool:
    """Whether the stack already has this template and these parameters.

    CloudFormation answers such an update with "No updates are to be
    performed" (handled too); asking first spares the failed call, and works
    where a stand-in compares parameters less carefully.
    """
    given = {p["ParameterKey"]: str(p.get("ParameterValue", "")) for p in stack["Parameters"]}
    if given != dict(parameters):
        return False
    name = stack["StackName"]
    with aws_errors(AwsCall(CLOUDFORMATION, region, "GetTemplate", f"stack {name!r}")):
        current = cfn.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
    return isinstance(current, str) and current == template


def deploy_stack(
    cfn: Any,
    name: str,
    region: str,
    template: str,
    parameters: Mapping[str, str],
    *,
    wait: bool = True,
    started: Callable[[str], None] = lambda _: None,
    progress: Callable[[str], None] = lambda _: None,
    poll: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> StackResult:
    """Create or update stack ``name`` with ``template`` and ``parameters``.

    ``started`` hears the stack's id once CloudFormation has accepted the
    request (also when there was nothing to update), before any waiting.
    """
    from botocore.exceptions import ClientError

    existing = describe_stack(cfn, name, region)
    if existing is not None and existing["StackStatus"] in _DEAD:
        raise StackFailed(
            f"stack {name!r} in {region} is {existing['StackStatus']} from a failed creation "
            f"and cannot be updated; delete it (aws cloudformation delete-stack --stack-name "
            f"{name} --region {region}) and deploy again"
        )
    ours = str((existing or {}).get("Description", "")).startswith(TEMPLATE_DESCRIPTION)
    if existing is not None and not ours:
        raise ConfigError(
            f"stack {name!r} in {region} was not made from imageferry's template; deploying "
            "there would replace its resources: give another --stack-name"
        )
    if existing is not None and existing["StackStatus"].endswith("_IN_PROGRESS"):
        raise ConfigError(
            f"stack {name!r} in {region} is {existing['StackStatus']}; wait for it to finish "
            "and deploy again"
        )
    action = "create" if existing is None else "update"
    if existing is not None and _unchanged(cfn, existing, region, template, parameters):
        started(existing["StackId"])
        return StackResult(existing["StackId"], "none", existing["StackStatus"], _outputs(existing))
    request: dict[str, Any] = {
        "StackName": name,
        "TemplateBody": template,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Capabilities": list(CAPABILITIES),
    }
    verb = "CreateStack" if action == "create" else "UpdateStack"
    with aws_errors(AwsCall(CLOUDFORMATION, region, verb, f"stack {name!r}")):
        try:
            if action == "create":
                stack_id = cfn.create_stack(**request, Tags=[{"Key": "imageferry", "Value": name}])[
                    "StackId"
                ]
            else:
                stack_id = cfn.update_stack(**request)["StackId"]
        except ClientError as e:
            message = str(e.response.get("Error", {}).get("Message", ""))
            if action == "update" and _NO_CHANGE in message:
                assert existing is not None
                started(existing["StackId"])
                return StackResult(
                    existing["StackId"], "none", existing["StackStatus"], _outputs(existing)
                )
            raise
    started(stack_id)
    if not wait:
        return StackResult(stack_id, action, f"{action.upper()}_IN_PROGRESS", {})
    since = None
    if existing is not None:
        since = existing.get("LastUpdatedTime") or existing.get("CreationTime")
    stack = wait_for_stack(cfn, name, region, progress=progress, poll=poll, sleep=sleep)
    status = str(stack["StackStatus"])
    if status in _SETTLED_BAD:
        cause = first_failure(cfn, name, region, since=since)
        raise StackFailed(f"stack {name!r} in {region} ended {status}: {cause}")
    return StackResult(stack_id, action, status, _outputs(stack))
