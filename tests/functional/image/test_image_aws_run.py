"""The built image as the stack's Fargate task: one run of the state machine whose
ECS states are the image's entrypoint.

The state machine is played by :mod:`fixtures.asl_walk` (moto cannot run an
``ecs:runTask`` state; ``tests/functional/deploy`` says why). Each ECS state
(``ferry aws plan``, ``copy-batch`` for each batch, ``summarize``) runs as
``buildah run --network host`` of the session's built image, its entrypoint
with the state's ``Command``, and exactly the environment the template's task
definition and the state's ``ContainerOverrides`` give the container, plus what
stands in for Fargate:

* ``AWS_ENDPOINT_URL_<SERVICE>``: S3, DynamoDB, SNS, Secrets Manager and STS
  on moto's server, ECR on the ECR stand-in;
* fake keys in ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` for the task
  role (Fargate hands the role's keys out through its credentials endpoint);
* ``FERRY_REGISTRY_MIRRORS``: the real ECR host names to the stand-in's
  loopback data planes (real docker-registry servers behind ECR's rules).

What the stack creates on moto: the run bucket, the result table with the
template's key schema and ``ByExecution`` index, the alarm topic (with an SQS
queue subscribed, to read what the topic was told), and a Secrets Manager
secret holding ``srcCredential`` in the reference's format.

The first run copies from another account's ECR (its keys in
``srcCredential``) to the current account's ECR in another region; one selected
image does not exist. The test checks the rows in DynamoDB (status and digest), the digest
at the destination (skopeo), the embedded-metric-format lines on the
container's stdout (the awslogs driver's input), one message through the
topic, no secret in any output, and that the process is the image's
non-root user inside its root file system: while ``copy-batch`` waits on a
held blob of the source, the test reads the process's ``/proc`` entry (uid,
root directory, environment).

The second run copies from a loopback registry (a Public source) with nothing
failing: the execution ends RunDone and the topic is not told.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from fixtures.asl_walk import EcsStep, Played
from fixtures.aws_run import STACK_NAME, Ran, Stack, emf_documents
from fixtures.image import DOCKERFILE, BuiltImage, write_report
from fixtures.state_machine import CLUSTER, create_state_machine, play_run, stack_definition
from fixtures.tasks import (
    CURRENT_ACCOUNT,
    SRC_ACCOUNT,
    SRC_KEYS,
    FlakyProxy,
    ecr_image,
    ecr_repo_push,
)
from imageferry.ecr.hosts import EcrRegistry
from stand_ins.ecr import EcrStandIn
from stand_ins.images import push_image
from stand_ins.moto import MotoServer
from stand_ins.registry import LocalRegistry
from stand_ins.skopeo import inspect_digest

pytestmark = [pytest.mark.image, pytest.mark.timeout(1500)]

REGION = "us-east-1"
SRC = EcrRegistry(SRC_ACCOUNT, REGION)
DST = EcrRegistry(CURRENT_ACCOUNT, "us-west-2")
RUN = "run-in-image"
#: Keys standing in for the task role's (moto and the stand-in take any keys).
TASK_ROLE = {
    "AWS_ACCESS_KEY_ID": "AKIAFERRYTASKROLE001",
    "AWS_SECRET_ACCESS_KEY": "task-role-secret-key",
    "AWS_EC2_METADATA_DISABLED": "true",
}
USER_ID = 10001


@pytest.fixture
def held_source(accounts: EcrStandIn) -> Iterator[FlakyProxy]:
    """A proxy in front of the source account's ECR data plane, to hold a request."""
    proxy = FlakyProxy(f"http://{accounts.ensure_account(SRC.account_id, SRC.region)}").start()
    try:
        yield proxy
    finally:
        proxy.stop()


@dataclass(frozen=True)
class Process:
    """A process as the host's ``/proc`` shows it."""

    uids: tuple[int, ...]
    root: str
    command: tuple[str, ...]
    environment: dict[str, str]


def _processes_with(variable: str) -> list[Process]:
    """Every process whose environment holds ``variable`` (``NAME=value``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().decode().split("\0")
            if variable not in environ:
                continue
            status = (entry / "status").read_text()
            root = str((entry / "root").readlink())
            command = (entry / "cmdline").read_bytes().decode().split("\0")
        except OSError:  # gone meanwhile, or a kernel thread
            continue
        (uids,) = [line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")]
        environment = dict(item.split("=", 1) for item in environ if "=" in item)
        found.append(
            Process(tuple(map(int, uids)), root, tuple(filter(None, command)), environment)
        )
    return found


@dataclass
class ImageTask:
    """Runs an ECS state's container as ``buildah run`` of the built image."""

    image: BuiltImage
    container: str
    stack: Stack
    fargate: dict[str, str]
    #: A proxy in front of the source: ``copy-batch`` is held there once (else not).
    held: FlakyProxy | None = None
    #: Each step's finished process, the environment it was given, and the
    #: processes of ``copy-batch`` seen while it waited on the source.
    ran: list[Ran] = field(default_factory=list)
    given: list[dict[str, str]] = field(default_factory=list)
    seen: list[Process] = field(default_factory=list)

    def __call__(self, step: EcsStep) -> int:
        buildah = self.image.buildah
        command = [*buildah.image_config(self.image.name)["config"]["Entrypoint"], *step.command]
        env = self.stack.container_environment(**step.environment) | self.fargate
        self.given.append(env)
        started = time.monotonic()
        if step.command == ("aws", "copy-batch") and self.held is not None:
            done = self._held(self.held, env, command, f"BATCH_KEY={env['BATCH_KEY']}")
        else:
            done = buildah.in_container(self.container, *command, env=env, timeout=120)
        ran = Ran(step.command, done.returncode, done.stdout, done.stderr)
        print(f"[{step.state} in the image, {time.monotonic() - started:.1f} s] {ran}")
        self.ran.append(ran)
        return ran.code

    def _held(self, held: FlakyProxy, env: dict[str, str], command: list[str], marker: str) -> Any:
        """Run ``command`` with the source's first blob held; see its process meanwhile."""
        held.hold(r"GET /v2/.+/blobs/")
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(
                self.image.buildah.in_container, self.container, *command, env=env, timeout=120
            )
            try:
                assert held.arrived.wait(90), "the copy never reached the source's blob"
                self.seen.extend(_processes_with(marker))
            finally:
                held.release()
            return running.result()


def _alarm_queue(stack: Stack) -> str:
    """An SQS queue subscribed to the alarm topic (as the e-mail subscription would be)."""
    sqs = boto3.client("sqs", region_name=stack.region, endpoint_url=stack.moto.url)
    url: str = sqs.create_queue(QueueName="alarm-mail")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    stack.sns.subscribe(TopicArn=stack.topic, Protocol="sqs", Endpoint=arn["QueueArn"])
    return url


def _told(stack: Stack, queue: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=stack.region, endpoint_url=stack.moto.url)
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in received.get("Messages", [])]


def _play_in_image(
    image: BuiltImage,
    container: str,
    moto: MotoServer,
    accounts: EcrStandIn,
    parameters: dict[str, str],
    held: FlakyProxy | None = None,
) -> tuple[Stack, ImageTask, Played, str]:
    """The stack of ``parameters`` on moto, and one run of it played with the image.

    Returns the stack, the task (what each container did), the walk and the URL of
    the queue subscribed to the alarm topic."""
    accounts.ensure_account(DST.account_id, DST.region)
    mirrors = accounts.mirrors() | ({SRC.host: held.host} if held else {})
    stack = Stack(
        moto,
        REGION,
        CURRENT_ACCOUNT,
        parameters | {"destRegion": DST.region, "ecsClusterName": CLUSTER},
        {"FERRY_REGISTRY_MIRRORS": ",".join(f"{k}={v}" for k, v in mirrors.items())},
    )
    queue = _alarm_queue(stack)
    substitutions, definition = stack_definition(stack)
    arn = create_state_machine(stack, definition, f"{STACK_NAME}-StateMachine")
    fargate = TASK_ROLE | {"AWS_ENDPOINT_URL_ECR": accounts.endpoint_url}
    task = ImageTask(image, container, stack, fargate, held)
    accounts.reset_counts()
    played = play_run(stack, substitutions, definition, arn, RUN, task)
    assert [c.command for c in played.containers] == [
        ("aws", "plan"),
        ("aws", "copy-batch"),
        ("aws", "summarize"),
    ]
    assert [r.code for r in task.ran] == [0, 0, 0], task.ran
    for ran in task.ran:
        assert TASK_ROLE["AWS_SECRET_ACCESS_KEY"] not in ran.stdout + ran.stderr
        assert "Traceback" not in ran.stdout + ran.stderr
    return stack, task, played, queue


def test_the_image_runs_the_stacks_steps_against_the_stand_ins(
    built_image: BuiltImage,
    image_container: str,
    aws_env: MotoServer,
    accounts: EcrStandIn,
    held_source: FlakyProxy,
) -> None:
    started = time.monotonic()
    (api,) = ecr_repo_push(accounts, SRC, "team/api", ["1.0"], seed="image-run")
    secrets = boto3.client("secretsmanager", region_name=REGION, endpoint_url=aws_env.url)
    secrets.create_secret(Name="dev-us-credential", SecretString=json.dumps(SRC_KEYS))
    stack, task, played, queue = _play_in_image(
        built_image,
        image_container,
        aws_env,
        accounts,
        {
            "sourceType": "Amazon_ECR",
            "srcRegion": SRC.region,
            "srcAccountId": SRC.account_id,
            "srcList": "SELECTED",
            "srcImageList": "team/api:1.0,team/api:9.9",
            "srcCredential": "dev-us-credential",
            "destPrefix": "mirror",
        },
        held_source,
    )
    ran = task.ran
    # A failed image fails the execution (after the summary told the topic).
    assert (played.status, played.error) == ("FAILED", "ImagesFailed"), ran

    # The process: the image's user, in the image's root file system, with the
    # image's environment and the step's, nothing of this machine's.
    assert task.seen, "no process of the copy was found"
    image_env = dict(
        item.split("=", 1)
        for item in built_image.buildah.image_config(built_image.name)["config"]["Env"]
    )
    (home,) = re.findall(r"--home-dir (\S+)", DOCKERFILE.read_text())
    for process in task.seen:
        assert process.uids == (USER_ID,) * 4, process
        assert process.root != "/", process
        assert process.command[-2:] == ("aws", "copy-batch"), process
        # buildah adds the user's home (the Dockerfile's) and a host name.
        assert process.environment.pop("HOME") == home
        process.environment.pop("HOSTNAME")
        assert process.environment == image_env | task.given[1]

    rows = stack.rows(RUN)
    done = rows[(f"{SRC.host}/team/api", "1.0")]
    assert (done["Status"], done["Digest"], done["Execution"]) == ("Done", api.digest, RUN)
    assert done["Destination"] == f"{DST.host}/mirror/team/api:1.0"
    assert rows[(f"{SRC.host}/team/api", "9.9")]["Status"] == "Error"
    assert len(rows) == 2, rows
    # The source's ECR was asked with srcCredential's keys (read from Secrets Manager),
    # the destination's with the task role's.
    asked = {(call.access_key_id, call.region) for call in accounts.calls}
    assert asked == {
        (SRC_KEYS["access_key_id"], SRC.region),
        (TASK_ROLE["AWS_ACCESS_KEY_ID"], DST.region),
    }
    location, login = ecr_image(accounts, DST, "mirror/team/api:1.0")
    assert inspect_digest(location, creds=login) == api.digest

    # Metrics: embedded metric format lines on the container's stdout.
    _, copy, summary = ran
    (copied,) = emf_documents(copy.stdout)
    (declared,) = copied["_aws"]["CloudWatchMetrics"]
    assert (declared["Namespace"], copied["Task"]) == ("imageferry", STACK_NAME)
    assert (copied["ImagesCopied"], copied["ImagesFailed"]) == (1, 1)
    assert copied["BytesCopied"] == int(done["Bytes"]) > 0
    (summarized,) = emf_documents(summary.stdout)
    assert summarized["RunsFailed"] == 1

    # The topic was told once, naming the failed image.
    (message,) = _told(stack, queue)
    assert message["Subject"] == f"imageferry {STACK_NAME}: 1 image(s) failed in run {RUN}"
    assert f"- {SRC.host}/team/api:9.9: " in message["Message"]

    # No secret anywhere: not the source's keys, not the task role's.
    said = [r.stdout + r.stderr for r in ran] + [message["Message"], json.dumps([*rows.values()])]
    for listed in stack.s3.list_objects_v2(Bucket=stack.bucket)["Contents"]:
        said.append(json.dumps(stack.json_object(listed["Key"])))
    for secret in (SRC_KEYS["secret_access_key"], TASK_ROLE["AWS_SECRET_ACCESS_KEY"]):
        assert not [text for text in said if secret in text]

    seconds = round(time.monotonic() - started, 1)
    write_report({"aws_run_seconds": seconds, "aws_run_load_average": os.getloadavg()[0]})


def test_the_image_copies_from_a_loopback_registry_and_the_run_ends_done(
    built_image: BuiltImage,
    image_container: str,
    aws_env: MotoServer,
    accounts: EcrStandIn,
    src_registry: LocalRegistry,
) -> None:
    """A Public source (a loopback registry named in each entry): nothing fails, so
    the run ends RunDone and the topic is not told."""
    pushed = push_image(src_registry.url, "tools/app", "2.0", seed="image-run-public")
    source = f"{src_registry.host}/tools/app"
    stack, task, played, queue = _play_in_image(
        built_image,
        image_container,
        aws_env,
        accounts,
        {"sourceType": "Public", "srcList": "SELECTED", "srcImageList": f"{source}:2.0"},
    )
    assert (played.status, played.states[-1]) == ("SUCCEEDED", "RunDone"), task.ran
    row = stack.rows(RUN)[(source, "2.0")]
    assert (row["Status"], row["Digest"]) == ("Done", pushed.digest)
    location, login = ecr_image(accounts, DST, "tools/app:2.0")
    assert inspect_digest(location, creds=login) == pushed.digest
    (copied,) = emf_documents(task.ran[1].stdout)
    assert (copied["ImagesCopied"], copied["ImagesFailed"]) == (1, 0)
    (summarized,) = emf_documents(task.ran[2].stdout)
    assert summarized["RunsFailed"] == 0
    assert _told(stack, queue) == []
