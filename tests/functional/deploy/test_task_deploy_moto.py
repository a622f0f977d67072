"""``ferry task deploy`` and ``ferry task show`` of a deployed task, against moto's server.

The task is created with ``ferry task create`` on a throw-away local store,
then deployed: moto's CloudFormation creates, updates or leaves the stack
alone, and the parameters are read back from it. moto runs no execution of
the state machine, so ``show`` is checked on executions started by the test
(moto records them, RUNNING until stopped) and result rows it puts into the
stack's table, as ``ferry aws copy-batch`` writes them.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import Result
from typer.testing import CliRunner

from fixtures.reference_seed import SEED_COMMAND
from functional.cli.conftest import output, param_args, root_app
from imageferry.sandbox.registry import free_port
from imageferry.settings import Settings
from imageferry.store import Store
from imageferry.tasks.forms import parse_aws_cli_parameters
from stand_ins.aws_refusals import AwsRefusals
from stand_ins.moto import MotoServer

SEED = parse_aws_cli_parameters(SEED_COMMAND)
CREDENTIAL = SEED["srcCredential"]
KEYS = '{"access_key_id": "AKIAEXAMPLE", "secret_access_key": "example"}'
Ferry = Callable[..., Result]


@pytest.fixture
def on_moto(aws_env: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    # CloudFormation, Step Functions and DynamoDB go to moto too.
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env.url)
    # SEED's srcCredential, where the stack's runs read it (deploy warns of it otherwise).
    boto3.client("secretsmanager").create_secret(Name=CREDENTIAL, SecretString=KEYS)
    return aws_env


@pytest.fixture
def ferry(tmp_path: Path) -> Ferry:
    runner = CliRunner()
    app = root_app()
    env = {"FERRY_DATA_DIR": str(tmp_path / "data"), "FERRY_SERVER": None, "FERRY_TOKEN": None}

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), env=env)

    return invoke


def _ok(result: Result) -> str:
    assert result.exit_code == 0, output(result)
    return result.stdout


@pytest.fixture
def task_id(ferry: Ferry) -> str:
    return _ok(ferry("task", "create", *param_args(SEED), "--name", "to AWS")).strip()


def _deploy(ferry: Ferry, task_id: str, *options: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        _ok(ferry("task", "deploy", task_id, *options, "-o", "json"))
    )
    return document


def _stack(name: str) -> dict[str, Any]:
    stack: dict[str, Any] = boto3.client("cloudformation").describe_stacks(StackName=name)[
        "Stacks"
    ][0]
    return stack


def _parameters(stack: dict[str, Any]) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def test_deploy_creates_the_stack_with_the_tasks_parameters(
    on_moto: MotoServer, ferry: Ferry, task_id: str
) -> None:
    deployed = _deploy(ferry, task_id, "--region", "us-east-1")
    assert deployed["stack_name"] == f"imageferry-{task_id}"
    assert (deployed["action"], deployed["status"]) == ("create", "CREATE_COMPLETE")
    stack = _stack(deployed["stack_name"])
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    read_back = _parameters(stack)
    assert {k: read_back[k] for k in SEED} == SEED
    assert read_back["scheduleType"] == "FIXED_RATE"
    assert read_back["scheduleExpression"] == "rate(1 day)"
    assert read_back["workerCount"] == "4"
    assert set(deployed["outputs"]) >= {"StateMachineArn", "ResultTableName", "LogGroupName"}


def test_deploy_again_updates_or_leaves_the_stack(
    on_moto: MotoServer, ferry: Ferry, task_id: str
) -> None:
    first = _deploy(ferry, task_id, "--stack-name", "dth-ecr-task", "--region", "us-east-1")
    # The stack name and region are remembered; a changed option updates the stack.
    changed = _deploy(ferry, task_id, "--worker-count", "8", "--image-uri", "example/ferry:1")
    assert (changed["stack_name"], changed["region"]) == ("dth-ecr-task", "us-east-1")
    assert (changed["action"], changed["status"]) == ("update", "UPDATE_COMPLETE")
    assert changed["stack_id"] == first["stack_id"]
    read_back = _parameters(_stack("dth-ecr-task"))
    assert (read_back["workerCount"], read_back["imageUri"]) == ("8", "example/ferry:1")
    # Nothing new (the options of the last deploy are kept): success, no update.
    result = ferry("task", "deploy", task_id)
    assert _ok(result).strip() == (
        "stack dth-ecr-task in us-east-1: already up to date (UPDATE_COMPLETE)"
    )
    assert _parameters(_stack("dth-ecr-task"))["workerCount"] == "8"


def test_a_changed_task_parameter_updates_the_stack(
    on_moto: MotoServer, ferry: Ferry, task_id: str, tmp_path: Path
) -> None:
    _deploy(ferry, task_id, "--region", "us-east-1")
    # No command edits a task's parameters yet; the store does, as an edit would.
    with Store(Settings(data_dir=tmp_path / "data")) as store:
        task = store.get_task(task_id)
        store.update_task(task_id, parameters={**task.parameters, "destPrefix": "mirror"})
    result = ferry("task", "deploy", task_id)
    stack = f"imageferry-{task_id}"
    assert _ok(result) == f"stack {stack} in us-east-1: UPDATE_COMPLETE\n"
    # The progress line on stderr: the stack's status as it changes (moto's is at once final).
    assert re.fullmatch(rf"\d\d:\d\d:\d\d stack {stack}: UPDATE_COMPLETE\n", result.stderr)
    assert _parameters(_stack(f"imageferry-{task_id}"))["destPrefix"] == "mirror"


def test_a_cron_one_time_or_push_schedule_reaches_eventbridge_form(
    on_moto: MotoServer, ferry: Ferry
) -> None:
    cron = {**SEED, "scheduleType": "CRON", "scheduleExpression": "30 2 * * 1-5"}
    created = _ok(ferry("task", "create", *param_args(cron), "--deploy", "aws", "-o", "json"))
    document = json.loads(created)
    read_back = _parameters(_stack(document["deployment"]["stack_name"]))
    assert read_back["scheduleExpression"] == "cron(30 2 ? * 2-6 *)"
    rules = boto3.client("events").list_rules()["Rules"]
    assert "cron(30 2 ? * 2-6 *)" in [r.get("ScheduleExpression") for r in rules]


def test_create_and_deploy_does_not_warn_that_the_stacks_alarms_go_nowhere(
    on_moto: MotoServer, ferry: Ferry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stack's own topic tells alarmEmail: the local FERRY_ALARM_BACKEND has no say."""
    monkeypatch.delenv("FERRY_ALARM_BACKEND", raising=False)
    result = ferry("task", "create", *param_args(SEED), "--deploy", "aws")
    task_id = _ok(result).strip()
    assert "will not be told" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"stack imageferry-{task_id} in us-east-1: CREATE_COMPLETE"
    )


def test_parameters_a_stack_cannot_take_are_refused_before_aws(
    on_moto: MotoServer, ferry: Ferry
) -> None:
    local = {**SEED, "ecsVpcId": "", "destRegistry": "registry.example.com"}
    task = _ok(ferry("task", "create", *param_args(local))).strip()
    result = ferry("task", "deploy", task, "--region", "us-east-1")
    assert result.exit_code == 2, output(result)
    assert "ecsVpcId: is required to deploy the task to AWS" in result.stderr
    assert "destRegistry: 'registry.example.com' cannot be deployed" in result.stderr
    assert "Traceback" not in result.stderr
    # Parameters do not change once created: the message says what does (a clone).
    assert f"`ferry task clone {task} --param NAME=VALUE ...`" in result.stderr
    assert boto3.client("cloudformation").describe_stacks()["Stacks"] == []
    # create --deploy refuses before the task exists.
    result = ferry("task", "create", *param_args(local), "--deploy", "aws")
    assert result.exit_code == 2, output(result)
    tasks = json.loads(_ok(ferry("task", "list", "-o", "json")))
    assert tasks["total"] == 1
    # The advice works: the clone with the values deploys.
    filled = ("ecsVpcId=vpc-07f56e8e21630a2a0", "destRegistry=")
    clone = _ok(ferry("task", "clone", task, *(f"--param={p}" for p in filled))).strip()
    assert _deploy(ferry, clone, "--region", "us-east-1")["status"] == "CREATE_COMPLETE"


@pytest.mark.parametrize(
    ("option", "says"),
    [
        (("--region", "mars"), "--region 'mars' is not an AWS region name"),
        (("--region", "us east 1"), "--region 'us east 1' is not an AWS region name"),
        (("--stack-name", "bad name!"), "--stack-name 'bad name!' is not a stack name"),
        (("--stack-name", "9lives"), "--stack-name '9lives' is not a stack name"),
        (("--image-uri", "not an image"), "imageUri (--image-uri): 'not an image'"),
    ],
)
def test_deploy_options_aws_cannot_take_are_usage_errors_before_aws(
    on_moto: MotoServer, ferry: Ferry, task_id: str, option: tuple[str, str], says: str
) -> None:
    result = ferry("task", "deploy", task_id, *option)
    assert result.exit_code == 2, output(result)
    assert says in result.stderr
    assert "Traceback" not in result.stderr and "ferry task clone" not in result.stderr
    assert boto3.client("cloudformation").describe_stacks()["Stacks"] == []


def test_a_deployed_task_is_not_run_here_behind_its_stacks_back(
    on_moto: MotoServer, ferry: Ferry, task_id: str
) -> None:
    """Its runs are the stack's: a local run would copy with this machine's keys and go
    where ``ferry task show`` (which reads AWS) never looks."""
    _deploy(ferry, task_id, "--region", "us-east-1")
    for command in ("run", "start"):
        result = ferry("task", command, task_id)
        assert result.exit_code == 2, output(result)
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(
            f"ferry: error: task {task_id} is deployed to stack imageferry-{task_id} in "
            "us-east-1: it runs there"
        ), line
        assert "aws stepfunctions start-execution" in line
    listed = json.loads(_ok(ferry("task", "list", "-o", "json")))
    assert listed["items"][0]["latest_run"] is None


def test_deploy_never_takes_over_another_tasks_or_a_foreign_stack(
    on_moto: MotoServer, ferry: Ferry, task_id: str
) -> None:
    first = _deploy(ferry, task_id, "--region", "us-east-1")["stack_name"]
    other = _ok(ferry("task", "create", *param_args({**SEED, "destRegion": "eu-west-1"})))
    cfn = boto3.client("cloudformation")
    cfn.create_stack(
        StackName="someone-elses",
        TemplateBody='{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}',
    )
    for stack, says in (
        (first, f"stack {first} in us-east-1 is task {task_id}'s"),
        ("someone-elses", "'someone-elses' in us-east-1 was not made from imageferry's template"),
    ):
        result = ferry("task", "deploy", other.strip(), "--stack-name", stack)
        assert result.exit_code == 2, output(result)
        (line,) = result.stderr.strip().splitlines()
        assert says in line and line.endswith("give another --stack-name"), line
    assert _parameters(_stack(first))["destRegion"] == "us-west-2"
    assert not _stack("someone-elses").get("Parameters")


@pytest.fixture
def closed_port() -> Iterator[int]:
    yield free_port("127.0.0.1")


def test_aws_unreachable_or_denied_is_one_line(
    on_moto: MotoServer,
    ferry: Ferry,
    task_id: str,
    monkeypatch: pytest.MonkeyPatch,
    closed_port: int,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = ferry("task", "deploy", task_id, "--region", "us-east-1")
    assert result.exit_code == 1, output(result)
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("ferry: error: AWS CloudFormation in us-east-1: cannot reach ")

    with AwsRefusals("AccessDenied", 403) as refusals:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", refusals.url)
        result = ferry("task", "deploy", task_id, "--region", "us-east-1")
    assert result.exit_code == 1, output(result)
    (line,) = result.stderr.strip().splitlines()
    assert "AWS CloudFormation in us-east-1: access denied to cloudformation:DescribeStacks" in line


def _put_row(table: str, execution: str, image: str, tag: str, status: str, **more: Any) -> None:
    item = {"Image": image, "Tag": tag, "Status": status, "Execution": execution, **more}
    boto3.resource("dynamodb").Table(table).put_item(Item=item)


def test_show_reads_a_deployed_tasks_runs_from_aws(
    on_moto: MotoServer, ferry: Ferry, task_id: str
) -> None:
    outputs = _deploy(ferry, task_id, "--region", "us-east-1")["outputs"]
    machine, table = outputs["StateMachineArn"], outputs["ResultTableName"]
    sfn = boto3.client("stepfunctions")
    older = sfn.start_execution(
        stateMachineArn=machine, name="run-older", input='{"trigger": "stack"}'
    )
    sfn.stop_execution(executionArn=older["executionArn"], error="Stopped", cause="by a test")
    sfn.start_execution(stateMachineArn=machine, name="run-newer", input='{"trigger": "schedule"}')
    _put_row(table, "run-older", "app", "1.0", "Done", Bytes=1000, Seconds=2, Attempts=1)
    _put_row(
        table,
        "run-newer",
        "app",
        "2.0",
        "Done",
        Bytes=2048,
        Seconds=Decimal("1.5"),
        Attempts=1,
        Digest="sha256:" + "a" * 64,
        Destination="123456789012.dkr.ecr.us-west-2.amazonaws.com/app:2.0",
    )
    _put_row(
        table, "run-newer", "base", "latest", "Skipped", Bytes=0, Seconds=Decimal("0.1"), Attempts=1
    )
    _put_row(table, "run-newer", "tool", "3", "Error", Attempts=3, Error="HTTP 429 from source")

    shown = json.loads(_ok(ferry("task", "show", task_id, "-o", "json")))
    assert shown["deployment"]["stack_name"] == f"imageferry-{task_id}"
    assert shown["status"] == "IN_PROGRESS"
    assert [(r["id"], r["status"]) for r in shown["runs"]] == [
        ("run-newer", "IN_PROGRESS"),
        ("run-older", "STOPPED"),
    ]
    newer = shown["runs"][0]["images"]
    assert [(i["source"], i["status"]) for i in newer] == [
        ("app:2.0", "copied"),
        ("base:latest", "skipped"),
        ("tool:3", "failed"),
    ]
    assert newer[0]["bytes_transferred"] == 2048
    assert newer[0]["destination"] == "123456789012.dkr.ecr.us-west-2.amazonaws.com/app:2.0"
    assert newer[1]["destination"] == "base:latest"  # no Destination: the prefix's (none)
    assert newer[0]["digest"] == "sha256:" + "a" * 64
    assert newer[2]["error"] == "HTTP 429 from source"
    assert newer[2]["attempts"] == 3

    text = _ok(ferry("task", "show", task_id))
    assert "status:      IN_PROGRESS" in text
    assert "next run:" not in text
    assert "run 2 (run-newer) ended IN_PROGRESS: 1 copied, 1 skipped, 1 failed of 3" in text
    assert "run 1 (run-older) ended STOPPED: 1 copied, 0 skipped, 0 failed of 1" in text
    assert "Images of run 2 (1 image retried, 2 retries):" in text  # Attempts=3 above
    assert f"Deployed: stack imageferry-{task_id} in us-east-1" in text


@pytest.mark.parametrize(
    ("region", "partition"), [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")]
)
def test_a_task_deploys_in_china_and_govcloud(
    on_moto: MotoServer, ferry: Ferry, region: str, partition: str
) -> None:
    # moto's CloudFormation resolves ${AWS::Partition} as "aws" in every region, so
    # the template's own ARNs are checked by the unit tests (each names its partition);
    # here the stack is created there, and the services' ARNs are the partition's.
    local = {**SEED, "srcRegion": region, "destRegion": region, "srcAccountId": ""}
    task = _ok(ferry("task", "create", *param_args(local))).strip()
    deployed = _deploy(ferry, task, "--region", region)
    assert (deployed["region"], deployed["status"]) == (region, "CREATE_COMPLETE")
    assert deployed["stack_id"].startswith(f"arn:{partition}:cloudformation:{region}:")
    assert deployed["outputs"]["StateMachineArn"].startswith(f"arn:{partition}:states:{region}:")


def test_deleting_a_deployed_task_says_its_stack_stays(
    on_moto: MotoServer, ferry: Ferry, task_id: str
) -> None:
    _deploy(ferry, task_id, "--region", "us-east-1", "--no-wait")
    result = ferry("task", "delete", task_id, "--yes")
    assert result.exit_code == 0, output(result)
    assert (
        f"stack imageferry-{task_id} in us-east-1 stays in AWS and keeps running" in result.stderr
    )
    assert _stack(f"imageferry-{task_id}")["StackStatus"] == "CREATE_COMPLETE"


def test_show_of_a_deployed_task_with_aws_unreachable_is_one_line(
    on_moto: MotoServer,
    ferry: Ferry,
    task_id: str,
    monkeypatch: pytest.MonkeyPatch,
    closed_port: int,
) -> None:
    _deploy(ferry, task_id, "--region", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SFN", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = ferry("task", "show", task_id)
    assert result.exit_code == 1, output(result)
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("ferry: error: AWS Step Functions in us-east-1: cannot reach ")


class NotAws:
    """What a proxy or portal in the way answers instead of AWS: ``status``, ``body``."""

    def __init__(self, status: int, body: bytes) -> None:
        answer = (status, body)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(answer[0])
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(answer[1])))
                self.end_headers()
                self.wfile.write(answer[1])

            def log_message(self, format: str, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> NotAws:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.mark.parametrize(
    ("status", "body"), [(404, b""), (200, b"<html><body>Sign in to the network</body></html>")]
)
def test_an_answer_that_is_not_aws_is_one_line_not_an_internal_error(
    on_moto: MotoServer,
    ferry: Ferry,
    task_id: str,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    body: bytes,
) -> None:
    _deploy(ferry, task_id, "--region", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with NotAws(status, body) as portal:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", portal.url)
        for args in (("task", "show", task_id), ("task", "deploy", task_id)):
            result = ferry(*args)
            assert result.exit_code == 1, output(result)
            (line,) = result.stderr.strip().splitlines()
            assert line.startswith(
                "ferry: error: AWS CloudFormation in us-east-1: the answer to DescribeStacks "
                "is not AWS's"
            ), line
            assert "AWS_ENDPOINT_URL_CLOUDFORMATION" in line


def test_create_and_deploy_that_fails_at_aws_names_the_task_it_created(
    on_moto: MotoServer, ferry: Ferry, monkeypatch: pytest.MonkeyPatch, closed_port: int
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = ferry("task", "create", *param_args(SEED), "--deploy", "aws")
    assert result.exit_code == 1, output(result)
    (line,) = result.stderr.strip().splitlines()
    [task] = json.loads(_ok(ferry("task", "list", "-o", "json")))["items"]
    assert f"task {task['id']} was created; deploy it with `ferry task deploy {task['id']}`" in line


def test_deploy_warns_of_a_credential_secret_the_stacks_region_lacks(
    on_moto: MotoServer, ferry: Ferry, task_id: str
) -> None:
    """SEED's srcCredential: a `ferry secret put` secret is local; the stack reads AWS's."""
    secrets = boto3.client("secretsmanager")
    secrets.delete_secret(SecretId=CREDENTIAL, ForceDeleteWithoutRecovery=True)
    result = ferry("task", "deploy", task_id, "--region", "us-east-1")
    _ok(result)
    warning = f"ferry: warning: secret {CREDENTIAL!r} is not in AWS Secrets Manager in us-east-1"
    assert warning in result.stderr
    secrets.create_secret(Name=CREDENTIAL, SecretString=KEYS)
    result = ferry("task", "deploy", task_id)
    assert "warning" not in _ok(result) + result.stderr


def test_deploy_needs_the_local_store(on_moto: MotoServer, ferry: Ferry, closed_port: int) -> None:
    server = f"http://127.0.0.1:{closed_port}"
    for args in (
        ("task", "deploy", "t-abcdefghij", "--server", server, "--token", "t"),
        (
            "task",
            "create",
            *param_args(SEED),
            "--deploy",
            "aws",
            "--server",
            server,
            "--token",
            "t",
        ),
    ):
        result = ferry(*args)
        assert result.exit_code == 2, output(result)
        assert "needs the local store, where deployments are recorded" in result.stderr
