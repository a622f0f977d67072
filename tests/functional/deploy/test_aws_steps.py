"""``ferry aws plan``, ``copy-batch`` and ``summarize`` as the stack's Fargate tasks run them.

Each command runs as a subprocess with the environment the template's task
definition gives the container, against moto's server (S3, DynamoDB, SNS,
Secrets Manager, STS), the ECR stand-in and loopback registries. The tests
check what a user would: the rows in the table, the objects in the run
bucket, the alarm topic's messages and the digests at the destination.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest

from fixtures.aws_run import STACK_NAME, Ran, Stack, emf_documents
from fixtures.tasks import (
    CURRENT_ACCOUNT,
    DST_ACCOUNT,
    DST_KEYS,
    SRC_ACCOUNT,
    SRC_KEYS,
    FlakyProxy,
    ecr_image,
    ecr_repo_push,
)
from imageferry.copy.referrers import tag_for
from imageferry.digest import Digest
from imageferry.ecr.hosts import EcrRegistry
from stand_ins.ecr import EcrStandIn
from stand_ins.images import push_artifact, push_image
from stand_ins.moto import MotoServer
from stand_ins.registry import LocalRegistry
from stand_ins.skopeo import inspect_digest

REGION = "us-east-1"
MakeStack = Callable[..., Stack]


@pytest.fixture
def make_stack(aws_env: MotoServer, accounts: EcrStandIn, tmp_path: Path) -> MakeStack:
    """A stack in ``REGION`` of the current account, for the task's ``parameters``."""

    def make(parameters: dict[str, str], *targets: EcrRegistry) -> Stack:
        for target in targets:
            accounts.ensure_account(target.account_id, target.region)
        mirrors = ",".join(f"{k}={v}" for k, v in accounts.mirrors().items())
        settings = {"FERRY_REGISTRY_MIRRORS": mirrors, "FERRY_DATA_DIR": str(tmp_path / "data")}
        return Stack(aws_env, REGION, CURRENT_ACCOUNT, parameters, settings)

    return make


def _secret(name: str, keys: dict[str, str]) -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name=name, SecretString=json.dumps(keys))


def _empty_results(stack: Stack, run_id: str) -> str:
    """A Distributed Map's result manifest with no failed child (``bucket/key``)."""
    key = f"results/{run_id}-map/manifest.json"
    manifest = {
        "DestinationBucket": stack.bucket,
        "MapRunArn": f"arn:aws:states:{REGION}:{CURRENT_ACCOUNT}:mapRun:sm/{run_id}:map",
        "ResultFiles": {"FAILED": [], "PENDING": [], "SUCCEEDED": []},
    }
    stack.s3.put_object(Bucket=stack.bucket, Key=key, Body=json.dumps(manifest).encode())
    return f"{stack.bucket}/{key}"


def _copy_all(stack: Stack, run_id: str) -> list[Ran]:
    ran = []
    for item in stack.json_object(f"runs/{run_id}/batches.json"):
        done = stack.ferry("aws", "copy-batch", RUN_ID=run_id, BATCH_KEY=item["batch"])
        assert done.code == 0, done
        ran.append(done)
    return ran


def _one_line_error(ran: Ran, code: int) -> str:
    assert ran.code == code, ran
    assert "Traceback" not in ran.stderr + ran.stdout
    (line,) = ran.stderr.strip().splitlines()
    assert line.startswith("ferry: error: ")
    return line


def test_ecr_to_ecr_with_a_source_secret_rows_digests_and_metrics(
    make_stack: MakeStack, accounts: EcrStandIn
) -> None:
    src = EcrRegistry(SRC_ACCOUNT, REGION)
    dst = EcrRegistry(CURRENT_ACCOUNT, "us-west-2")
    api = ecr_repo_push(accounts, src, "team/api", ["1.0", "latest"])
    (web,) = ecr_repo_push(accounts, src, "web", ["2.0"])
    _secret("dev-us-credential", SRC_KEYS)
    stack = make_stack(
        {
            "sourceType": "Amazon_ECR",
            "srcRegion": src.region,
            "srcAccountId": src.account_id,
            "srcList": "ALL",
            "srcCredential": "dev-us-credential",
            "destRegion": dst.region,
            "destPrefix": "mirror",
            "includeUntagged": "false",
        },
        src,
        dst,
    )

    plan = stack.ferry("aws", "plan", RUN_ID="run-1", RUN_INPUT='{"trigger": "schedule"}')
    assert plan.code == 0, plan
    (batch,) = stack.json_object("runs/run-1/batches.json")
    assert batch["images"] == 3
    (copied,) = _copy_all(stack, "run-1")

    rows = stack.rows("run-1")
    expected = {
        (f"{src.host}/team/api", "1.0"): api[0].digest,
        (f"{src.host}/team/api", "latest"): api[1].digest,
        (f"{src.host}/web", "2.0"): web.digest,
    }
    assert {key: row["Status"] for key, row in rows.items()} == dict.fromkeys(expected, "Done")
    for key, digest in expected.items():
        row = rows[key]
        assert (row["Digest"], row["Attempts"], row["Execution"]) == (digest, "1", "run-1")
        assert int(row["Bytes"]) > 0
    for ref, digest in (("mirror/team/api:1.0", api[0].digest), ("mirror/web:2.0", web.digest)):
        location, login = ecr_image(accounts, dst, ref)
        assert inspect_digest(location, creds=login) == digest

    (metrics,) = emf_documents(copied.stdout)
    (declared,) = metrics["_aws"]["CloudWatchMetrics"]
    assert (declared["Namespace"], declared["Dimensions"], metrics["Task"]) == (
        "imageferry",
        [["Task"]],
        STACK_NAME,
    )
    assert (metrics["ImagesCopied"], metrics["ImagesSkipped"], metrics["ImagesFailed"]) == (3, 0, 0)
    assert metrics["BytesCopied"] == sum(int(r["Bytes"]) for r in rows.values())

    summary = stack.ferry(
        "aws", "summarize", RUN_ID="run-1", RESULTS_MANIFEST=_empty_results(stack, "run-1")
    )
    assert summary.code == 0, summary
    assert "3 copied, 0 skipped, 0 failed" in summary.stdout
    assert stack.messages() == []
    for ran in (plan, copied, summary):
        assert SRC_KEYS["secret_access_key"] not in ran.stdout + ran.stderr
    assert stack.json_object("runs/run-1/summary.json")["told"] is False


def test_a_push_plans_that_image_alone_when_the_selection_takes_it(
    make_stack: MakeStack, accounts: EcrStandIn
) -> None:
    """Push events come from the stack's own account and region: that is the source."""
    src = EcrRegistry(CURRENT_ACCOUNT, REGION)
    dst = EcrRegistry(DST_ACCOUNT, "us-west-2")
    ecr_repo_push(accounts, src, "web", ["2.0", "dev-1"])
    ecr_repo_push(accounts, src, "other", ["1.0"])
    _secret("dest-credential", DST_KEYS)
    stack = make_stack(
        {
            "srcRegion": REGION,
            "destRegion": dst.region,
            "destAccountId": dst.account_id,
            "destCredential": "dest-credential",
            "excludeTags": "dev-.*",
        },
        src,
        dst,
    )

    def push(tag: str) -> str:
        return json.dumps({"trigger": "push", "repository": "web", "tag": tag, "digest": "x"})

    assert stack.ferry("aws", "plan", RUN_ID="push-1", RUN_INPUT=push("2.0")).code == 0
    (batch,) = stack.json_object("runs/push-1/batches.json")
    assert stack.json_object(batch["batch"])["images"] == [
        {"source": f"{src.host}/web:2.0", "destination": f"{dst.host}/web:2.0"}
    ]

    excluded = stack.ferry("aws", "plan", RUN_ID="push-2", RUN_INPUT=push("dev-1"))
    assert excluded.code == 0, excluded
    assert stack.json_object("runs/push-2/batches.json") == []
    assert "is not in this task's selection" in excluded.stdout


def test_failed_images_and_a_lost_batch_are_told_once(
    make_stack: MakeStack, src_registry: LocalRegistry, accounts: EcrStandIn
) -> None:
    """A public-registry-style source (a loopback registry, named in each entry)."""
    good = push_image(src_registry.url, "good", "1", seed="good")
    # A cosign signature: found by its tag (this registry has no referrers API).
    signature_tag = f"{tag_for(Digest.parse(good.digest))}.sig"
    push_artifact(src_registry.url, "good", signature_tag, subject=good)
    host = src_registry.host
    dst = EcrRegistry(CURRENT_ACCOUNT, "us-west-2")
    stack = make_stack(
        {
            "sourceType": "Public",
            "srcList": "SELECTED",
            "srcImageList": f"{host}/good:1,{host}/missing:9.9,{host}/gone:ALL_TAGS",
            "destRegion": dst.region,
            "copyReferrers": "true",
        },
        dst,
    )
    assert stack.ferry("aws", "plan", RUN_ID="run-3").code == 0
    (copied,) = _copy_all(stack, "run-3")
    assert emf_documents(copied.stdout)[0]["ImagesFailed"] == 1
    index = stack.json_object("runs/run-3/batches.json")
    # A batch whose Fargate task died: the map's manifest names it as FAILED.
    lost = "runs/run-3/batches/99999.json"
    stack.s3.put_object(
        Bucket=stack.bucket,
        Key=lost,
        Body=json.dumps(
            {"run": "run-3", "images": [{"source": f"{host}/lost:1", "destination": "x/lost:1"}]}
        ).encode(),
    )
    stack.s3.put_object(
        Bucket=stack.bucket,
        Key="runs/run-3/batches.json",
        Body=json.dumps([*index, {"batch": lost, "images": 1}]).encode(),
    )
    failed_file = "results/map-3/FAILED_0.json"
    stack.s3.put_object(
        Bucket=stack.bucket,
        Key=failed_file,
        Body=json.dumps(
            [
                {
                    "Input": json.dumps({"batch": lost, "runId": "run-3"}),
                    "Status": "FAILED",
                    "Error": "BatchFailed",
                    "Cause": "ferry aws copy-batch did not finish",
                }
            ]
        ).encode(),
    )
    manifest = {
        "DestinationBucket": stack.bucket,
        "ResultFiles": {"FAILED": [{"Key": failed_file, "Size": 1}], "SUCCEEDED": []},
    }
    stack.s3.put_object(
        Bucket=stack.bucket, Key="results/map-3/manifest.json", Body=json.dumps(manifest).encode()
    )

    rows = stack.rows("run-3")
    assert rows[(f"{host}/good", "1")]["Status"] == "Done"
    # copyReferrers: the image's signature is one more image of the batch.
    assert rows[(f"{host}/good", signature_tag)]["Status"] == "Done"
    assert rows[(f"{host}/missing", "9.9")]["Status"] == "Error"
    assert rows[(f"{host}/gone", "ALL_TAGS")]["Error"].startswith(f"{host}/gone has no tags")
    location, login = ecr_image(accounts, dst, "good:1")
    assert inspect_digest(location, creds=login) == good.digest

    manifest_at = f"{stack.bucket}/results/map-3/manifest.json"
    summary = stack.ferry("aws", "summarize", RUN_ID="run-3", RESULTS_MANIFEST=manifest_at)
    assert summary.code == 0, summary
    (metrics,) = emf_documents(summary.stdout)
    assert (metrics["ImagesFailed"], metrics["RunsFailed"]) == (1, 1)
    (message,) = stack.messages()
    assert message["subject"] == f"imageferry {STACK_NAME}: 3 image(s) failed in run run-3"
    text = message["message"]
    assert "2 copied, 0 skipped, 3 failed" in text
    assert f"- {host}/missing:9.9: " in text
    assert f"- {host}/gone:ALL_TAGS: {host}/gone has no tags to copy" in text
    assert f"- {host}/lost:1: BatchFailed: ferry aws copy-batch did not finish" in text

    # A retried summary does not tell the topic twice.
    again = stack.ferry("aws", "summarize", RUN_ID="run-3", RESULTS_MANIFEST=manifest_at)
    assert again.code == 0, again
    assert len(stack.messages()) == 1


def test_unusable_variables_and_aws_failures_are_one_line(make_stack: MakeStack) -> None:
    stack = make_stack({"destRegion": "us-west-2", "srcRegion": REGION})
    invalid = stack.ferry(
        "aws", "plan", RUN_ID="run-4", SRC_REGION="", DEST_REGION="mars-1", SRC_LIST="SOME"
    )
    line = _one_line_error(invalid, 2)
    for part in ("SRC_REGION: is required", "DEST_REGION: 'mars-1'", "SRC_LIST: 'SOME'"):
        assert part in line

    missing = stack.ferry("aws", "copy-batch", RUN_ID="run-4")
    assert "BATCH_KEY" in _one_line_error(missing, 2)

    absent = stack.ferry("aws", "copy-batch", RUN_ID="run-4", BATCH_KEY="runs/run-4/nope.json")
    line = _one_line_error(absent, 1)
    assert "Amazon S3" in line and "GetObject" in line and "NoSuchKey" in line


@pytest.fixture
def held_source(src_registry: LocalRegistry) -> Iterator[FlakyProxy]:
    proxy = FlakyProxy(src_registry).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def test_sigterm_finishes_the_image_in_flight_and_starts_no_other(
    make_stack: MakeStack,
    src_registry: LocalRegistry,
    held_source: FlakyProxy,
    accounts: EcrStandIn,
) -> None:
    first = push_image(src_registry.url, "first", "1", seed="first")
    push_image(src_registry.url, "second", "1", seed="second")
    host = held_source.host
    dst = EcrRegistry(CURRENT_ACCOUNT, "us-west-2")
    stack = make_stack(
        {
            "sourceType": "Public",
            "srcList": "SELECTED",
            "srcImageList": f"{host}/first:1,{host}/second:1",
            "destRegion": dst.region,
            "concurrency": "1",
        },
        dst,
    )
    assert stack.ferry("aws", "plan", RUN_ID="run-5").code == 0
    (batch,) = stack.json_object("runs/run-5/batches.json")
    held_source.hold(r"GET /v2/first/blobs/")
    process = stack.start("aws", "copy-batch", RUN_ID="run-5", BATCH_KEY=batch["batch"])
    try:
        assert held_source.arrived.wait(60), "the copy never reached the held blob"
        process.send_signal(signal.SIGTERM)
        held_source.release()
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    ran = Ran(("copy-batch",), process.returncode, stdout, stderr)
    line = _one_line_error(ran, 143)
    assert "stopped (SIGTERM): 1 of 2 image(s) finished" in line
    rows = stack.rows("run-5")
    assert rows[(f"{host}/first", "1")]["Status"] == "Done"
    second = rows[(f"{host}/second", "1")]
    assert (second["Status"], "stopped (SIGTERM)" in second["Error"]) == ("Error", True)
    location, login = ecr_image(accounts, dst, "first:1")
    assert inspect_digest(location, creds=login) == first.digest
