"""The per-task template against the reference's stack and the user's create-stack command."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from cfnlint.api import lint_file

from fixtures.cfn_template import (
    DEFINITION_PATH,
    TEMPLATE_PATH,
    load_definition,
    load_template,
)
from fixtures.reference_seed import SEED_COMMAND
from imageferry.tasks.forms import parse_aws_cli_parameters
from imageferry.tasks.parameter_table import PARAMETER_TABLE
from imageferry.tasks.params import MAX_CONCURRENCY

SRC, DEST, ECS = "Source Information", "Destination Information", "ECS Cluster Information"
# The reference's sixteen (DataTransferECRStack): name, type, default (None: it has
# none), allowed values, console label, console group.
REFERENCE = (
    ("sourceType", "String", "Amazon_ECR", ["Amazon_ECR", "Public"], "Source Type", "Type"),
    ("srcRegion", "String", "", None, "Source Region Name", SRC),
    ("srcAccountId", "String", "", None, "Source AWS Account ID", SRC),
    (
        "srcList",
        "String",
        "ALL",
        ["ALL", "SELECTED"],
        "Source Image List Type",
        "Source Information",
    ),
    ("srcImageList", "String", "", None, "Source Image List", SRC),
    ("srcCredential", "String", "", None, "Source Credentials", SRC),
    ("destRegion", "String", None, None, "Destination Region Name", DEST),
    ("destAccountId", "String", "", None, "Destination AWS Account ID", DEST),
    ("destPrefix", "String", "", None, "Destination Repo Prefix", DEST),
    ("destCredential", "String", "", None, "Destination Credentials", DEST),
    ("includeUntagged", "String", "true", ["true", "false"], "Include Untagged", None),
    ("ecsClusterName", "String", None, None, "ECS Cluster Name", ECS),
    ("ecsVpcId", "AWS::EC2::VPC::Id", None, None, "VPC ID", ECS),
    (
        "ecsSubnetA",
        "AWS::EC2::Subnet::Id",
        None,
        None,
        "First Subnet ID",
        "ECS Cluster Information",
    ),
    (
        "ecsSubnetB",
        "AWS::EC2::Subnet::Id",
        None,
        None,
        "Second Subnet ID",
        "ECS Cluster Information",
    ),
    ("alarmEmail", "String", None, None, "Alarm Email", "Notification Information"),
)
REFERENCE_GROUPS = [
    "Type",
    "Source Information",
    "Destination Information",
    "ECS Cluster Information",
    "Notification Information",
]
EXTENSIONS = {
    "scheduleType",
    "scheduleExpression",
    "includeTags",
    "excludeTags",
    "platforms",
    "copyReferrers",
    "concurrency",
    "workerCount",
    "imageUri",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def _groups(template: dict[str, Any]) -> dict[str, list[str]]:
    interface = template["Metadata"]["AWS::CloudFormation::Interface"]
    return {g["Label"]["default"]: g["Parameters"] for g in interface["ParameterGroups"]}


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def test_cfn_lint_finds_nothing() -> None:
    # The same rules as the cfn-lint command line: errors, warnings and informational.
    matches = lint_file(TEMPLATE_PATH)
    assert [str(m) for m in matches] == []


def test_the_reference_parameters_are_unchanged(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    labels = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterLabels"]
    groups = _groups(template)
    for name, kind, default, allowed, label, group in REFERENCE:
        spec = parameters[name]
        assert spec["Type"] == kind, name
        assert spec.get("Default") == default, name
        assert spec.get("AllowedValues") == allowed, name
        assert labels[name] == {"default": label}
        if group is not None:
            assert name in groups[group], name
    assert re.fullmatch(parameters["alarmEmail"]["AllowedPattern"], "your_email@example.com")
    assert not re.fullmatch(parameters["alarmEmail"]["AllowedPattern"], "not an address")


def test_groups_keep_the_reference_order_and_members(template: dict[str, Any]) -> None:
    groups = _groups(template)
    assert list(groups)[: len(REFERENCE_GROUPS)] == REFERENCE_GROUPS
    assert groups["Source Information"] == [
        "srcRegion",
        "srcAccountId",
        "srcList",
        "srcImageList",
        "srcCredential",
    ]
    assert groups["Destination Information"] == [
        "destRegion",
        "destAccountId",
        "destPrefix",
        "destCredential",
    ]
    assert groups["ECS Cluster Information"] == [
        "ecsClusterName",
        "ecsVpcId",
        "ecsSubnetA",
        "ecsSubnetB",
    ]
    assert groups["Notification Information"] == ["alarmEmail"]


def test_every_parameter_has_one_group_and_a_label(template: dict[str, Any]) -> None:
    grouped = [name for members in _groups(template).values() for name in members]
    labels = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterLabels"]
    assert sorted(grouped) == sorted(template["Parameters"])
    assert set(labels) == set(template["Parameters"])


def test_extensions_all_have_defaults_matching_ferry_task(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    reference = {row[0] for row in REFERENCE}
    assert set(parameters) - reference == EXTENSIONS
    ferry_task = {p.name: p for p in PARAMETER_TABLE}
    for name in EXTENSIONS:
        assert "Default" in parameters[name], name
        if name in ferry_task:
            assert str(parameters[name]["Default"]) == ferry_task[name].default, name
            allowed = parameters[name].get("AllowedValues")
            if allowed is not None:
                assert tuple(allowed) == ferry_task[name].allowed, name


def _allowed(spec: dict[str, Any], value: str) -> bool:
    if "AllowedValues" in spec and value not in spec["AllowedValues"]:
        return False
    pattern = spec.get("AllowedPattern")
    return pattern is None or re.fullmatch(pattern, value) is not None


def test_the_documents_create_stack_command_fits_verbatim(template: dict[str, Any]) -> None:
    given = parse_aws_cli_parameters(SEED_COMMAND)
    parameters = template["Parameters"]
    assert len(given) == 16
    assert set(given) <= set(parameters)
    for name, value in given.items():
        assert _allowed(parameters[name], value), (name, value)
    required = {name for name, spec in parameters.items() if "Default" not in spec}
    assert required <= set(given)


def test_a_bad_value_would_be_refused(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert not _allowed(parameters["sourceType"], "Docker_Hub")
    assert not _allowed(parameters["scheduleExpression"], "daily")
    assert _allowed(parameters["scheduleExpression"], "cron(0 3 * * ? *)")
    assert not _allowed(parameters["concurrency"], "0")
    assert _allowed(parameters["concurrency"], "")
    # ferry task's own range: 1 to MAX_CONCURRENCY.
    assert [n for n in range(1000) if _allowed(parameters["concurrency"], str(n))] == list(
        range(1, MAX_CONCURRENCY + 1)
    )


def test_every_arn_names_its_partition(template: dict[str, Any]) -> None:
    strings = list(_strings(template["Resources"])) + list(_strings(template["Outputs"]))
    arns = [s for s in strings if "arn:" in s]
    assert arns
    for text in arns:
        for start in re.finditer(r"arn:", text):
            assert text[start.start() :].startswith("arn:${AWS::Partition}:"), text
    endpoints = [s for s in strings if re.search(r"\.amazonaws\.com(?!\.cn)", s)]
    principals = {"ecs-tasks.amazonaws.com", "states.amazonaws.com", "events.amazonaws.com"}
    assert set(endpoints) <= principals
    # The definition names no ARN itself: each comes in through DefinitionSubstitutions.
    assert "arn:" not in DEFINITION_PATH.read_text(encoding="utf-8")


def test_the_template_carries_the_json_definition(template: dict[str, Any]) -> None:
    machine = template["Resources"]["StateMachine"]["Properties"]
    assert machine["Definition"] == load_definition()
    placeholders = set(re.findall(r"\$\{(\w+)\}", str(load_definition())))
    assert placeholders == set(machine["DefinitionSubstitutions"])


def _check_states(machine: dict[str, Any], names: set[str]) -> None:
    states = machine["States"]
    assert machine["StartAt"] in states
    reached = {machine["StartAt"]}
    for name, state in states.items():
        targets = [state.get("Next"), state.get("Default")]
        targets += [c["Next"] for c in state.get("Choices", [])]
        targets += [c["Next"] for c in state.get("Catch", [])]
        for target in filter(None, targets):
            assert target in states, f"{name} -> {target}"
            reached.add(target)
        ends = state["Type"] in {"Succeed", "Fail", "Choice"} or state.get("End") is True
        assert ends or "Next" in state, name
        if "ItemProcessor" in state:
            _check_states(state["ItemProcessor"], names)
    assert reached == set(states), set(states) - reached
    names.update(states)


def test_the_state_machine_is_wired(template: dict[str, Any]) -> None:
    definition = load_definition()
    names: set[str] = set()
    _check_states(definition, names)
    copy = definition["States"]["CopyBatches"]
    assert copy["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert copy["ItemReader"]["ReaderConfig"]["InputType"] == "JSON"
    assert copy["MaxConcurrencyPath"] == "$.run.workers"
    batch = copy["ItemProcessor"]["States"]["CopyBatch"]
    assert batch["Retry"] and batch["Catch"]
    commands = [
        s["Parameters"]["Overrides"]["ContainerOverrides"][0]["Command"]
        for s in [definition["States"]["Plan"], batch, definition["States"]["Summarize"]]
    ]
    assert commands == [["aws", "plan"], ["aws", "copy-batch"], ["aws", "summarize"]]
    container = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert container["Name"] == "ferry"


def _statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Every policy statement that ends up on ``role``: inline and attached."""
    resources = template["Resources"]
    documents = [p["PolicyDocument"] for p in resources[role]["Properties"].get("Policies", [])]
    documents += [
        r["Properties"]["PolicyDocument"]
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
    ]
    return [s for d in documents for s in d["Statement"]]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_each_role_holds_only_its_sides_rights(template: dict[str, Any]) -> None:
    roles = [n for n, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"]
    assert sorted(roles) == ["EventsRole", "StateMachineRole", "TaskExecutionRole", "TaskRole"]
    for role in roles:
        for statement in _statements(template, role):
            actions = _actions(statement)
            assert all(not a.endswith("*") for a in actions), (role, actions)
            if statement["Resource"] == "*":
                assert actions == ["ecr:GetAuthorizationToken"], role
    services = {
        role: {a.split(":")[0] for s in _statements(template, role) for a in _actions(s)}
        for role in roles
    }
    assert services["TaskRole"] == {"s3", "dynamodb", "sns", "ecr", "secretsmanager"}
    assert services["StateMachineRole"] == {"ecs", "iam", "events", "s3", "sns", "states"}
    assert services["TaskExecutionRole"] == {"logs", "ecr"}
    assert services["EventsRole"] == {"states"}


def test_a_secret_is_readable_only_when_named(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    for side, condition in (
        ("src", "SourceCredentialGiven"),
        ("dest", "DestinationCredentialGiven"),
    ):
        policies = [
            r
            for r in resources.values()
            if r["Type"] == "AWS::IAM::Policy"
            and "secretsmanager:GetSecretValue" in str(r["Properties"]["PolicyDocument"])
            and f"${{{side}Credential}}" in str(r["Properties"]["PolicyDocument"])
        ]
        assert [p["Condition"] for p in policies] == [condition]
        (statement,) = policies[0]["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Resource"]["Fn::Sub"].endswith(f":secret:${{{side}Credential}}-??????")
    # Without a secret, the task role's own ECR rights serve that side instead.
    assert resources["SourceEcrReadPolicy"]["Condition"] == "SourceReadWithTaskRole"
    assert resources["DestinationEcrWritePolicy"]["Condition"] == "DestinationWriteWithTaskRole"


# Service principals are names, the same in every partition; the console's host is not
# derived from AWS::URLSuffix anywhere, so the template maps it per partition.
NAMES_NOT_ENDPOINTS = {
    "ecs-tasks.amazonaws.com",
    "states.amazonaws.com",
    "events.amazonaws.com",
    "console.amazonaws.cn",
    "console.amazonaws-us-gov.com",
}


def test_no_partition_or_endpoint_is_written_out() -> None:
    for path in (TEMPLATE_PATH, DEFINITION_PATH):
        lines = path.read_text(encoding="utf-8").splitlines()
        text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
        assert not re.search(r"arn:aws(-[a-z-]+)?:", text), path.name
        hosts = set(re.findall(r"[\w.-]*amazonaws[\w.-]*", text))
        assert hosts <= NAMES_NOT_ENDPOINTS, (path.name, hosts - NAMES_NOT_ENDPOINTS)
        assert "amazon.com" not in text.replace("console.aws.amazon.com", ""), path.name
