"""SnsNotifier against moto's SNS (a real HTTP server)."""

import json

import boto3
import pytest

from imageferry.alarms import Alarm, AlarmError, SnsNotifier, open_notifier
from imageferry.aws import aws_session
from imageferry.settings import Settings
from stand_ins.moto import MotoServer


def _alarm(recipient: str = "oncall@example.com", run_id: str = "run-0007") -> Alarm:
    return Alarm(
        task_id="task-9b1e",
        task_name="ecr-to-ecr",
        run_id=run_id,
        status="ERROR",
        recipient=recipient,
        failed=[
            ("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v2", "TagImmutable: tag v2 exists")
        ],
        total=3,
        copied=2,
    )


def _subscriptions(topic_arn: str) -> list[dict]:
    return boto3.client("sns").list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]


def test_topic_subscription_and_message(aws_env: MotoServer) -> None:
    notifier = SnsNotifier(aws_session("us-east-1"), "ferry-alarms")
    notifier.send(_alarm())

    topics = boto3.client("sns").list_topics()["Topics"]
    assert [t["TopicArn"].rsplit(":", 1)[1] for t in topics] == ["ferry-alarms"]
    arn = topics[0]["TopicArn"]
    subs = _subscriptions(arn)
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("email", "oncall@example.com")]

    messages = aws_env.sns_messages(arn)
    assert len(messages) == 1
    assert "ecr-to-ecr" in messages[0]["subject"] and len(messages[0]["subject"]) <= 100
    body = messages[0]["message"]
    for text in ("ecr-to-ecr", "run-0007", "app:v2", "TagImmutable: tag v2 exists"):
        assert text in body, text


def test_subscribes_once_and_reuses_the_topic(aws_env: MotoServer) -> None:
    SnsNotifier(aws_session("us-east-1"), "ferry-alarms").send(_alarm(run_id="run-1"))
    # a new process (new notifier) finds the topic and the subscription again
    SnsNotifier(aws_session("us-east-1"), "ferry-alarms").send(_alarm(run_id="run-2"))
    topics = boto3.client("sns").list_topics()["Topics"]
    assert len(topics) == 1
    arn = topics[0]["TopicArn"]
    assert len(_subscriptions(arn)) == 1
    assert ["run-1" in m["message"] for m in aws_env.sns_messages(arn)] == [True, False]


def test_each_recipient_gets_a_filtered_subscription(aws_env: MotoServer) -> None:
    notifier = SnsNotifier(aws_session("us-east-1"), "ferry-alarms")
    notifier.send(_alarm(recipient="a@example.com"))
    notifier.send(_alarm(recipient="b@example.com"))
    client = boto3.client("sns")
    arn = client.list_topics()["Topics"][0]["TopicArn"]
    policies = {}
    for sub in _subscriptions(arn):
        attrs = client.get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"])
        policies[sub["Endpoint"]] = json.loads(attrs["Attributes"]["FilterPolicy"])
    assert policies == {
        "a@example.com": {"recipient": ["a@example.com"]},
        "b@example.com": {"recipient": ["b@example.com"]},
    }


def test_settings_select_sns(aws_env: MotoServer, tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, alarm_backend="sns", sns_topic_name="from-settings")
    notifier = open_notifier(settings)
    assert notifier is not None
    notifier.send(_alarm())
    arn = boto3.client("sns").list_topics()["Topics"][0]["TopicArn"]
    assert arn.endswith(":from-settings")
    assert len(aws_env.sns_messages(arn)) == 1


def test_unreachable_sns_is_an_alarm_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(AlarmError, match="run-0007"):
        SnsNotifier(aws_session("us-east-1"), "ferry-alarms").send(_alarm())
