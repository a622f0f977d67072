"""Alarms (SMTP and SNS), Secrets Manager credentials, blank account ids via
STS, and immutable-tag conflicts, end to end (REFERENCE.md defect 7: a run
with failed images says so)."""

from __future__ import annotations

import json

import boto3

from fixtures.aws import SmtpSink
from fixtures.tasks import (
    CURRENT_ACCOUNT,
    DST_ACCOUNT,
    DST_KEYS,
    SRC_ACCOUNT,
    SRC_KEYS,
    Runtimes,
    ecr_image,
    ecr_repo_push,
    run_to_end,
)
from imageferry import metrics
from imageferry.ecr.client import ecr_client
from imageferry.ecr.hosts import EcrRegistry
from imageferry.store.status import ImageStatus, RunStatus
from stand_ins.ecr import EcrStandIn
from stand_ins.images import push_image
from stand_ins.moto import MotoServer
from stand_ins.registry import LocalRegistry
from stand_ins.skopeo import inspect_digest

METRICS = (
    ("ferry_images_total/copied", {"status": "copied"}),
    ("ferry_images_total/failed", {"status": "failed"}),
    ("ferry_runs_total/ERROR", {"status": "ERROR"}),
)


def _metric(name: str, labels: dict[str, str]) -> float:
    value = metrics.REGISTRY.get_sample_value(name.split("/")[0], labels)
    return value or 0.0


def _half_broken_task(src: str, dst: str) -> dict[str, str]:
    return {
        "sourceType": "Public",
        "srcRegistry": src,
        "srcList": "SELECTED",
        "srcImageList": "good:1,missing:9.9",
        "destRegistry": dst,
        "alarmEmail": "ops@example.com",
        "scheduleType": "ONE_TIME",
    }


def test_failed_image_ends_in_error_and_mails_the_alarm(
    src_registry: LocalRegistry,
    dst_registry: LocalRegistry,
    smtp_server: SmtpSink,
    runtimes: Runtimes,
) -> None:
    good = push_image(src_registry.url, "good", "1", seed="good")
    before = {name: _metric(name, labels) for name, labels in METRICS}
    runtime = runtimes.make(
        alarm_backend="smtp", smtp_host=smtp_server.host, smtp_port=smtp_server.port
    )
    task = runtime.service.create_task(
        _half_broken_task(src_registry.host, dst_registry.host),
        name="mirror-prod",
    )
    run = run_to_end(runtime, task.id)

    # Defect 7: not "In Progress" forever, and not DONE either.
    assert run.status is RunStatus.ERROR
    assert (run.images_copied, run.images_failed, run.images_total) == (1, 1, 2)
    assert "1 of 2 images failed" in run.error
    assert runtime.service.get_task(task.id).status == "ERROR"
    assert inspect_digest(f"{dst_registry.host}/good:1") == good.digest
    failed = runtime.service.image_results(run.id, status=ImageStatus.FAILED)
    (missing,) = failed
    assert missing.source == f"{src_registry.host}/missing:9.9"
    assert "9.9" in missing.error
    assert missing.attempts == 1  # not found is not worth retrying
    # The console's /metrics counts the run and its images (defect 7).
    after = {name: _metric(name, labels) for name, labels in METRICS}
    assert {k: after[k] - before[k] for k in after} == {
        "ferry_images_total/copied": 1,
        "ferry_images_total/failed": 1,
        "ferry_runs_total/ERROR": 1,
    }

    (mail,) = smtp_server.received
    assert mail.rcpt_tos == ("ops@example.com",)
    body = mail.message.get_content()
    assert "mirror-prod" in str(mail.message["Subject"]) + body
    assert run.id in body
    assert task.id in body
    assert f"{src_registry.host}/missing:9.9" in body
    assert missing.error[:60] in body
    logs = [line.message for line in runtime.service.logs(run.id)]
    channel = f"SMTP server {smtp_server.host}:{smtp_server.port}"
    assert f"alarm sent to ops@example.com by {channel}" in logs

    # A clean run sends nothing.
    clean = runtime.service.create_task(
        {**task.parameters, "srcImageList": "good:1", "alarmEmail": "ops@example.com"}
    )
    clean_run = run_to_end(runtime, clean.id)
    assert clean_run.status is RunStatus.DONE
    assert len(smtp_server.received) == 1
    assert [line.message for line in runtime.service.logs(clean_run.id)][-1] == (
        "no alarm sent: the run ended DONE; alarms are sent for runs that end in ERROR"
    )


def test_alarm_through_sns(
    aws_env: MotoServer,
    src_registry: LocalRegistry,
    dst_registry: LocalRegistry,
    runtimes: Runtimes,
) -> None:
    push_image(src_registry.url, "good", "1", seed="good")
    runtime = runtimes.make(alarm_backend="sns", sns_topic_name="ferry-alarms")
    task = runtime.service.create_task(
        _half_broken_task(src_registry.host, dst_registry.host), name="sns-task"
    )
    run = run_to_end(runtime, task.id)
    assert run.status is RunStatus.ERROR

    sns = boto3.client("sns", region_name="us-east-1")
    (topic,) = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert topic.endswith(":ferry-alarms")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", "ops@example.com")]
    (message,) = aws_env.sns_messages(topic)
    text = json.dumps(message)
    assert run.id in text and task.id in text
    assert f"{src_registry.host}/missing:9.9" in text


def test_secrets_manager_credentials_and_blank_accounts_via_sts(
    aws_env: MotoServer, accounts: EcrStandIn, runtimes: Runtimes
) -> None:
    """secret_backend=aws; srcAccountId and destAccountId blank = the current
    account, which STS (moto) names; the stand-in agrees on it."""
    src = EcrRegistry(SRC_ACCOUNT, "us-east-1")
    current = EcrRegistry(CURRENT_ACCOUNT, "us-west-2")
    (pushed,) = ecr_repo_push(accounts, src, "svc", ["1.0"])
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    secrets.create_secret(Name="dev-us-credential", SecretString=json.dumps(SRC_KEYS))
    runtime = runtimes.make(ecr_targets=(src, current), secret_backend="aws")
    task = runtime.service.create_task(
        {
            "sourceType": "Amazon_ECR",
            "srcRegion": src.region,
            "srcAccountId": src.account_id,
            "srcList": "ALL",
            "srcCredential": "dev-us-credential",
            "destRegion": current.region,
            "destAccountId": "",
        }
    )
    run = run_to_end(runtime, task.id)
    assert run.status is RunStatus.DONE, run.error
    location, login = ecr_image(accounts, current, "svc:1.0")
    assert inspect_digest(location, creds=login) == pushed.digest
    logs = [line.message for line in runtime.service.logs(run.id)]
    assert f"destAccountId is blank: using account {CURRENT_ACCOUNT} (STS)" in logs
    assert not any(SRC_KEYS["secret_access_key"] in line for line in logs)

    # And back again with a blank source account (no credential: the default chain).
    back = runtime.service.create_task(
        {
            "srcRegion": current.region,
            "srcAccountId": "",
            "srcList": "SELECTED",
            "srcImageList": "svc:1.0",
            "destRegion": src.region,
            "destAccountId": src.account_id,
            "destCredential": "dev-us-credential",
            "destPrefix": "back",
        }
    )
    run = run_to_end(runtime, back.id)
    assert run.status is RunStatus.DONE, run.error
    (result,) = runtime.service.image_results(run.id)
    assert result.source == f"{current.host}/svc:1.0"
    location, login = ecr_image(accounts, src, "back/svc:1.0")
    assert inspect_digest(location, creds=login) == pushed.digest


def test_immutable_tag_conflict_is_reported_and_not_retried(
    accounts: EcrStandIn, runtimes: Runtimes
) -> None:
    src = EcrRegistry(SRC_ACCOUNT, "us-east-1")
    dst = EcrRegistry(DST_ACCOUNT, "us-east-2")
    (new,) = ecr_repo_push(accounts, src, "app", ["1.0"], seed="new")
    ecr_client(dst.region).create_repository(
        registryId=dst.account_id, repositoryName="app", imageTagMutability="IMMUTABLE"
    )
    (old,) = ecr_repo_push(accounts, dst, "app", ["1.0"], seed="old", create=False)
    runtime = runtimes.make(ecr_targets=(src, dst))
    runtime.secrets.put("src", SRC_KEYS)
    runtime.secrets.put("dst", DST_KEYS)
    task = runtime.service.create_task(
        {
            "srcRegion": src.region,
            "srcAccountId": src.account_id,
            "srcCredential": "src",
            "destRegion": dst.region,
            "destAccountId": dst.account_id,
            "destCredential": "dst",
            "includeUntagged": "false",
        }
    )
    for _ in range(2):  # every run reports it once; none retries it forever
        accounts.reset_counts()
        run = run_to_end(runtime, task.id)
        assert run.status is RunStatus.ERROR
        (result,) = runtime.service.image_results(run.id)
        assert result.status is ImageStatus.FAILED
        assert result.attempts == 1
        assert "immutable" in result.error.lower()
        assert "1.0" in result.error
    location, login = ecr_image(accounts, dst, "app:1.0")
    assert inspect_digest(location, creds=login) == old.digest != new.digest
