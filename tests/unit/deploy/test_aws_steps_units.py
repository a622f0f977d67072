"""The pure parts of ``ferry aws``: variables, batches, rows, metrics and the alarm text."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from fixtures.cfn_template import load_template
from imageferry.awsrun import storage
from imageferry.awsrun.batches import batches_of, read_batch, write_batch
from imageferry.awsrun.emf import metric_line
from imageferry.awsrun.environment import TASK_PARAMETERS, RunEnvironment, variable_name
from imageferry.awsrun.rows import RowRecorder, image_key, row_for
from imageferry.awsrun.stopping import StopGate, Stopped
from imageferry.awsrun.storage import from_item, split_location, to_item
from imageferry.awsrun.summary import MAX_LISTED, Failure, RunSummary, message_of
from imageferry.errors import ConfigError
from imageferry.reference import Reference
from imageferry.store.results import UnitResult
from imageferry.store.status import ImageStatus
from imageferry.tasks.selection import ImagePair

BASE = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "RUN_BUCKET": "runs",
    "RESULT_TABLE": "table",
    "RUN_ID": "run-1",
    "SRC_REGION": "us-east-1",
    "DEST_REGION": "us-west-2",
}


def _pairs(*names: str) -> list[ImagePair]:
    return [
        ImagePair(Reference.parse(f"src.example/{n}"), Reference.parse(f"dst.example/{n}"))
        for n in names
    ]


def test_variable_names_are_the_templates() -> None:
    assert [variable_name(p) for p in ("srcImageList", "sourceType", "srcAccountId")] == [
        "SRC_IMAGE_LIST",
        "SOURCE_TYPE",
        "SRC_ACCOUNT_ID",
    ]
    assert len(TASK_PARAMETERS) == 16


def test_the_environment_is_validated_like_ferry_task() -> None:
    env = RunEnvironment.read(BASE | {"RUN_INPUT": '{"trigger": "push", "tag": "1"}'})
    assert (env.spec.srcRegion, env.spec.destRegion, env.run_input["trigger"]) == (
        "us-east-1",
        "us-west-2",
        "push",
    )
    with pytest.raises(ConfigError) as error:
        RunEnvironment.read(BASE | {"SRC_LIST": "SELECTED", "CONCURRENCY": "0"})
    message = str(error.value)
    assert "\n" not in message
    assert "SRC_IMAGE_LIST: is empty but srcList=SELECTED" in message
    assert "CONCURRENCY: '0' is not a whole number" in message
    with pytest.raises(ConfigError, match="BATCH_KEY"):
        RunEnvironment.read(BASE, needs=("BATCH_KEY",))
    with pytest.raises(ConfigError, match="RUN_INPUT is not JSON"):
        RunEnvironment.read(BASE | {"RUN_INPUT": "{"})
    # Before any listing: an unusable region was a failed step (exit 1) after it.
    with pytest.raises(ConfigError, match="AWS_DEFAULT_REGION 'us east 1' is not an AWS region"):
        RunEnvironment.read(BASE | {"AWS_DEFAULT_REGION": "us east 1"})


def test_batches_keep_repositories_together_up_to_the_cap() -> None:
    pairs = _pairs("a:1", "b:1", "b:2", "c:1", "c:2", "c:3", "c:4", "c:5", "d:1")
    sizes = [
        [str(p.source.repository) + ":" + str(p.source.tag) for p in b]
        for b in batches_of(pairs, cap=3)
    ]
    assert sizes == [
        ["a:1", "b:1", "b:2"],
        ["c:1", "c:2", "c:3"],
        ["c:4", "c:5", "d:1"],
    ]
    assert sum(len(b) for b in batches_of(pairs, cap=200)) == len(pairs)
    document = json.loads(json.dumps(write_batch("run-1", pairs)))
    assert read_batch(document, "k") == pairs
    with pytest.raises(ConfigError, match="not one ferry aws plan wrote"):
        read_batch({"images": [{"source": "Not A Reference"}]}, "k")


def test_rows_are_keyed_by_image_and_tag_or_digest() -> None:
    digest = "sha256:" + "a" * 64
    assert image_key("r.example/team/app:1.0") == ("r.example/team/app", "1.0")
    assert image_key(f"r.example/app@{digest}") == ("r.example/app", digest)
    assert image_key("referrers of r.example/app:1") == ("r.example/app", "1 referrers")
    result = UnitResult("r.example/app:1", "d.example/app:1", ImageStatus.COPIED, digest=digest)
    row = row_for(result, "run-1")
    assert (row["Status"], row["Execution"], row["Digest"]) == ("Done", "run-1", digest)
    assert from_item(to_item(row | {"Seconds": 1.5, "Error": ""})) == {
        k: v for k, v in (row | {"Seconds": 1.5}).items() if v != ""
    }


def test_metric_lines_are_embedded_metric_format() -> None:
    document = json.loads(metric_line("ns", "task", {"ImagesCopied": 2, "BytesCopied": 9}, 1.0))
    assert document["_aws"] == {
        "Timestamp": 1000,
        "CloudWatchMetrics": [
            {
                "Namespace": "ns",
                "Dimensions": [["Task"]],
                "Metrics": [
                    {"Name": "ImagesCopied", "Unit": "Count"},
                    {"Name": "BytesCopied", "Unit": "Bytes"},
                ],
            }
        ],
    }
    assert (document["Task"], document["ImagesCopied"], document["BytesCopied"]) == ("task", 2, 9)


def test_the_alarm_names_failed_images_and_counts_the_rest() -> None:
    env = RunEnvironment.read(BASE | {"TASK_NAME": "mirror"})
    failures = [Failure(f"r.example/app:{i}", "boom") for i in range(MAX_LISTED + 2)]
    subject, message = message_of(env, RunSummary(copied=3, failures=failures))
    assert subject == f"imageferry mirror: {MAX_LISTED + 2} image(s) failed in run run-1"
    assert "- r.example/app:0: boom" in message
    assert "... and 2 more" in message
    assert "table table, index ByExecution, Execution = run-1" in message
    assert split_location("bucket/results/x/manifest.json") == ("bucket", "results/x/manifest.json")
    with pytest.raises(ConfigError):
        split_location("bucket-only")


def test_the_task_role_allows_every_call_the_steps_make() -> None:
    """Each AWS call of :mod:`imageferry.awsrun.storage`, as IAM names it, is in the
    template's TaskRole (moto does not check IAM, so the functional tests cannot)."""
    source = Path(storage.__file__).read_text(encoding="utf-8")
    services = {"S3": "s3", "DYNAMODB": "dynamodb", "SNS": "sns"}
    # IAM's name where it differs from the API's.
    iam_names = {"s3:ListObjectsV2": "s3:ListBucket"}
    called = {
        iam_names.get(f"{services[s]}:{a}", f"{services[s]}:{a}")
        for s, a in re.findall(r"_call\((S3|DYNAMODB|SNS), \"(\w+)\"", source)
    }
    assert len(called) == 6, called
    role = load_template()["Resources"]["TaskRole"]["Properties"]["Policies"]
    allowed: set[str] = set()
    for policy in role:
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            allowed.update([actions] if isinstance(actions, str) else actions)
    assert called <= allowed, called - allowed


def test_a_stop_writes_waiting_rows_and_then_each_at_once() -> None:
    written: list[int] = []
    said: list[str] = []
    failing = [True]

    def write(rows: list[dict[str, object]]) -> None:
        if failing[0]:
            raise ConfigError("table unreachable")
        written.append(len(rows))

    recorder = RowRecorder("run-1", write, said.append)
    gate = StopGate()
    gate.on_request(recorder.urgent)
    result = UnitResult("r.example/app:1", "d.example/app:1", ImageStatus.SKIPPED)
    recorder.result(result)
    assert written == []  # waits for a group of 25
    gate.request()
    assert said == ["WARNING writing rows: table unreachable"]  # kept, not lost
    failing[0] = False
    recorder.result(replace(result, source="r.example/app:2"))
    assert written == [2]
    recorder.result(replace(result, source="r.example/app:3"))
    assert written == [2, 1]
    factory = gate.guard(lambda registry, name: pytest.fail("a stopped batch opened a repository"))
    with pytest.raises(Stopped, match="stopped \\(SIGTERM\\) before this image started"):
        factory("r.example", "app")


def test_the_task_definition_sets_every_variable_the_steps_read() -> None:
    definition = load_template()["Resources"]["TaskDefinition"]["Properties"]
    (container,) = definition["ContainerDefinitions"]
    names = {e["Name"] for e in container["Environment"]}
    stack = {
        "AWS_DEFAULT_REGION",
        "AWS_ACCOUNT_ID",
        "RUN_BUCKET",
        "RESULT_TABLE",
        "ALARM_TOPIC_ARN",
        "METRICS_NAMESPACE",
        "TASK_NAME",
    }
    assert names == {variable_name(p) for p in TASK_PARAMETERS} | stack
    # Each names the parameter it carries.
    for item in container["Environment"]:
        if item["Name"] not in stack:
            assert variable_name(item["Value"]["Ref"]) == item["Name"]
