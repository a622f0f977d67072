"""deploy_stack's answers moto cannot give: a stack that fails, "No updates are to be performed".

moto's CloudFormation never fails a stack and compares Number parameters as
numbers, so these paths run against a small fake of the client holding the
answers CloudFormation gives (shapes from its API reference).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from imageferry.deploy_aws.stack import (
    TEMPLATE_DESCRIPTION,
    StackFailed,
    deploy_stack,
    first_failure,
)

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1"


def _event(resource: str, kind: str, status: str, reason: str, seconds: int) -> dict[str, Any]:
    return {
        "LogicalResourceId": resource,
        "ResourceType": kind,
        "ResourceStatus": status,
        "ResourceStatusReason": reason,
        "Timestamp": T0 + timedelta(seconds=seconds),
    }


class FakeCloudFormation:
    def __init__(self, statuses: list[str], events: list[dict[str, Any]], exists: bool) -> None:
        self.statuses = statuses
        self.events = events
        self.exists = exists
        self.calls: list[str] = []

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        self.calls.append("DescribeStacks")
        if not self.exists:
            error = {
                "Code": "ValidationError",
                "Message": f"Stack with id {StackName} does not exist",
            }
            raise ClientError({"Error": error}, "DescribeStacks")
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {
            "Stacks": [
                {
                    "StackId": ID,
                    "StackName": StackName,
                    "StackStatus": status,
                    "CreationTime": T0 - timedelta(days=1),
                    "Description": f"{TEMPLATE_DESCRIPTION}: ...",
                    "Parameters": [{"ParameterKey": "workerCount", "ParameterValue": "2"}],
                }
            ]
        }

    def create_stack(self, **request: Any) -> dict[str, Any]:
        self.calls.append("CreateStack")
        self.exists = True
        return {"StackId": ID}

    def update_stack(self, **request: Any) -> dict[str, Any]:
        self.calls.append("UpdateStack")
        error = {"Code": "ValidationError", "Message": "No updates are to be performed."}
        raise ClientError({"Error": error}, "UpdateStack")

    def get_paginator(self, name: str) -> Any:
        events = self.events

        class Pages:
            def paginate(self, StackName: str) -> list[dict[str, Any]]:
                return [{"StackEvents": list(reversed(events))}]  # newest first

        return Pages()


def test_a_failed_creation_names_the_first_failed_resource_and_its_reason() -> None:
    events = [
        _event("s", "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated", 0),
        _event("RunBucket", "AWS::S3::Bucket", "CREATE_COMPLETE", "", 5),
        _event(
            "TaskSecurityGroup",
            "AWS::EC2::SecurityGroup",
            "CREATE_FAILED",
            "The vpc ID 'vpc-07f56e8e21630a2a0' does not exist",
            6,
        ),
        _event(
            "ResultTable", "AWS::DynamoDB::Table", "CREATE_FAILED", "Resource creation cancelled", 7
        ),
        _event("s", "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS", "The following ...", 8),
        _event("s", "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", "", 20),
    ]
    cfn = FakeCloudFormation(
        ["CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"], events, exists=False
    )
    seen: list[str] = []
    started: list[str] = []
    with pytest.raises(StackFailed) as caught:
        deploy_stack(
            cfn,
            "s",
            "us-east-1",
            "template",
            {"workerCount": "4"},
            started=started.append,
            progress=seen.append,
            sleep=lambda _: None,
        )
    assert str(caught.value) == (
        "stack 's' in us-east-1 ended ROLLBACK_COMPLETE: resource TaskSecurityGroup "
        "(AWS::EC2::SecurityGroup): The vpc ID 'vpc-07f56e8e21630a2a0' does not exist"
    )
    assert started == [ID]
    assert seen == ["CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"]


def test_no_updates_to_perform_is_success() -> None:
    cfn = FakeCloudFormation(["UPDATE_COMPLETE"], [], exists=True)
    result = deploy_stack(cfn, "s", "us-east-1", "template", {"workerCount": "4"})
    assert (result.action, result.status) == ("none", "UPDATE_COMPLETE")
    assert cfn.calls == ["DescribeStacks", "UpdateStack"]


def test_a_stack_that_never_got_created_must_be_deleted_first() -> None:
    cfn = FakeCloudFormation(["ROLLBACK_COMPLETE"], [], exists=True)
    with pytest.raises(StackFailed, match="delete-stack --stack-name s --region us-east-1"):
        deploy_stack(cfn, "s", "us-east-1", "template", {"workerCount": "4"})
    assert cfn.calls == ["DescribeStacks"]


def test_an_update_names_its_own_failure_not_an_older_one() -> None:
    events = [
        _event("OldThing", "AWS::SNS::Topic", "CREATE_FAILED", "from an earlier deploy", -60),
        _event("TaskDefinition", "AWS::ECS::TaskDefinition", "UPDATE_FAILED", "Invalid image", 5),
    ]
    cfn = FakeCloudFormation(["UPDATE_ROLLBACK_COMPLETE"], events, exists=True)
    assert first_failure(cfn, "s", "us-east-1", since=T0) == (
        "resource TaskDefinition (AWS::ECS::TaskDefinition): Invalid image"
    )


def test_the_packaged_templates_description_marks_its_stacks() -> None:
    import yaml

    from imageferry.deploy_aws.template import template_body

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    description = yaml.load(template_body(), Loader=Loader)["Description"]
    assert description.startswith(TEMPLATE_DESCRIPTION)
