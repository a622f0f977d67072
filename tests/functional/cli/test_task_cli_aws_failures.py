"""Every AWS call of a task, failing every way a user meets: one line, no traceback.

Each case creates a task and runs it with ``ferry task`` (in-process), with one
AWS service made to fail: no credentials anywhere, an endpoint nobody listens
on, or a loopback endpoint answering AccessDenied or throttling. The user
must see exactly one line naming the service, the region, the cause and the
fix, and never a Python traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from functional.cli.conftest import Ferry, output
from imageferry.sandbox.registry import free_port
from imageferry.secrets import open_secret_store
from imageferry.settings import Settings
from stand_ins.aws_refusals import AwsRefusals

#: The reference's own example (its README's `aws cloudformation create-stack`
#: line): srcCredential set, destAccountId blank.
REFERENCE_LINE = [
    "ParameterKey=sourceType,ParameterValue=Amazon_ECR",
    "ParameterKey=srcRegion,ParameterValue=us-east-1",
    "ParameterKey=srcAccountId,ParameterValue=123456789012",
    "ParameterKey=srcList,ParameterValue=ALL",
    "ParameterKey=includeUntagged,ParameterValue=false",
    "ParameterKey=srcImageList,ParameterValue=",
    "ParameterKey=srcCredential,ParameterValue=dev-us-credential",
    "ParameterKey=destAccountId,ParameterValue=",
    "ParameterKey=destRegion,ParameterValue=us-west-2",
    "ParameterKey=destCredential,ParameterValue=",
    "ParameterKey=destPrefix,ParameterValue=",
    "ParameterKey=alarmEmail,ParameterValue=your_email@example.com",
    "ParameterKey=ecsVpcId,ParameterValue=vpc-07f56e8e21630a2a0",
    "ParameterKey=ecsClusterName,ParameterValue=dth-v22-01-TaskCluster-eHzKkHatj0tN",
    "ParameterKey=ecsSubnetA,ParameterValue=subnet-034c58fe0e696eb0b",
    "ParameterKey=ecsSubnetB,ParameterValue=subnet-0487ae5a1d3badde7",
]

ENDPOINT_VARIABLES = {
    "sts": ["AWS_ENDPOINT_URL_STS"],
    "ecr": ["AWS_ENDPOINT_URL_ECR"],
    "secretsmanager": ["AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SECRETSMANAGER"],
    "sns": ["AWS_ENDPOINT_URL_SNS"],
}


@dataclass(frozen=True)
class Path_:
    """One AWS call path: the task that reaches it first, and how its line begins."""

    service: str
    action: str
    head: str
    args: tuple[str, ...]
    settings: tuple[tuple[str, str], ...] = ()


PATHS = {
    # The pasted reference line: destAccountId blank, so STS names the account.
    "sts": Path_(
        "sts", "GetCallerIdentity", "AWS STS in us-west-2: ", ("--parameters", *REFERENCE_LINE)
    ),
    # Both accounts given: the first call is listing the source ECR.
    "ecr": Path_(
        "ecr",
        "DescribeRepositories",
        "Amazon ECR in us-east-1 (account 123456789012): ",
        (
            "--param", "sourceType=Amazon_ECR", "--param", "srcRegion=us-east-1",
            "--param", "srcAccountId=123456789012", "--param", "srcList=ALL",
            "--param", "destRegion=us-west-2", "--param", "destAccountId=210987654321",
        ),
    ),
    # Secrets in Secrets Manager: the first call reads srcCredential.
    "secretsmanager": Path_(
        "secretsmanager",
        "GetSecretValue",
        "AWS Secrets Manager in us-east-1: ",
        (
            "--param", "sourceType=Public", "--param", "srcList=SELECTED",
            "--param", "srcImageList=app:1", "--param", "srcRegistry=127.0.0.1:9",
            "--param", "srcCredential=hub", "--param", "destRegistry=127.0.0.1:9",
        ),
        (("FERRY_SECRET_BACKEND", "aws"),),
    ),
    # Alarms by SNS: a run that fails (its secret is missing) sends one.
    "sns": Path_(
        "sns",
        "CreateTopic",
        "Amazon SNS in us-east-1: ",
        (
            "--param", "sourceType=Public", "--param", "srcList=SELECTED",
            "--param", "srcImageList=app:1", "--param", "srcRegistry=127.0.0.1:9",
            "--param", "srcCredential=missing", "--param", "destRegistry=127.0.0.1:9",
            "--param", "alarmEmail=ops@example.com",
        ),
        (("FERRY_ALARM_BACKEND", "sns"),),
    ),
}  # fmt: skip

CAUSES = ["no credentials", "unreachable", "denied", "throttled"]


def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS configuration of the machine running the tests may take part."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_REGION",
        *(v for names in ENDPOINT_VARIABLES.values() for v in names),
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config-absent"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials-absent"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("FERRY_AWS_REGION", "us-east-1")


def _point(monkeypatch: pytest.MonkeyPatch, service: str, url: str) -> None:
    for name in ENDPOINT_VARIABLES[service]:
        monkeypatch.setenv(name, url)


@pytest.mark.parametrize("cause", CAUSES)
@pytest.mark.parametrize("path", list(PATHS))
def test_each_aws_call_fails_in_one_line_that_names_service_cause_and_fix(
    path: str,
    cause: str,
    ferry: Ferry,
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = PATHS[path]
    _isolate(monkeypatch, tmp_path)
    settings = dict(case.settings)
    # The reference line's srcCredential: AWS keys in the local store.
    open_secret_store(Settings(data_dir=data_dir, secret_backend="local")).put(
        "dev-us-credential", {"access_key_id": "AKIASRC", "secret_access_key": "src-secret"}
    )
    refusals: AwsRefusals | None = None
    if cause != "no credentials":
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATEST")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    if cause == "unreachable":
        closed = f"http://127.0.0.1:{free_port()}"
        _point(monkeypatch, case.service, closed)
        expected = f"cannot reach {closed}/ (EndpointConnectionError)"
    elif cause == "denied":
        code = (
            "AccessDeniedException"
            if case.service in ("ecr", "secretsmanager")
            else ("AuthorizationError" if case.service == "sns" else "AccessDenied")
        )
        refusals = AwsRefusals(code, 403 if case.service == "sts" else 400)
        expected = f"access denied to {case.service}:{case.action}"
    elif cause == "throttled":
        code = "ThrottlingException" if case.service in ("ecr", "secretsmanager") else "Throttling"
        refusals = AwsRefusals(code, 400)
        expected = f"still throttled after 2 attempt(s) ({code}: Rate exceeded)"
    else:
        expected = (
            "no AWS credentials found; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )

    with refusals or _Nothing():
        if refusals is not None:
            _point(monkeypatch, case.service, refusals.url)
        created = ferry("task", "create", *case.args, env=settings)
        assert created.exit_code == 0, output(created)
        run = ferry("task", "run", created.stdout.strip(), env=settings)

    text = created.stdout + created.stderr + run.stdout + run.stderr
    assert "Traceback" not in text, output(run)
    assert run.exit_code == 1, output(run)
    lines = [line for line in text.splitlines() if case.head in line]
    assert len(lines) == 1, output(run)
    assert expected in lines[0], output(run)
    assert "internal error" not in text
    if refusals is not None and cause == "throttled":
        # botocore's retries came first: AWS_MAX_ATTEMPTS=2 means two calls.
        assert refusals.calls[case.action] == 2


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_the_reference_line_without_credentials_reads_clean_from_create_to_run(
    ferry: Ferry, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reported case, whole: what the terminal shows, line by line."""
    _isolate(monkeypatch, tmp_path)
    open_secret_store(Settings(data_dir=data_dir, secret_backend="local")).put(
        "dev-us-credential", {"access_key_id": "AKIASRC", "secret_access_key": "src-secret"}
    )
    created = ferry("task", "create", "--parameters", *REFERENCE_LINE)
    assert created.exit_code == 0, output(created)
    assert created.stderr.startswith("ferry: warning: alarmEmail your_email@example.com will not")
    task_id = created.stdout.strip()

    run = ferry("task", "run", task_id)

    assert run.exit_code == 1, output(run)
    reason = (
        "AWS STS in us-west-2: no AWS credentials found; set AWS_PROFILE or "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or name a destCredential secret"
    )
    # The summary says what happened, with the reason, once in all the output.
    assert run.stdout.strip().endswith(f"ended ERROR before any image was selected: {reason}")
    assert (run.stdout + run.stderr).count(reason) == 1
    assert "0 copied" not in run.stdout + run.stderr
    # The log keeps the closing line for `ferry task logs` and the console.
    logs = ferry("task", "logs", task_id)
    assert f"run ended ERROR before any image was selected: {reason}" in logs.stdout
