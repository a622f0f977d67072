"""Alarm e-mail through Amazon SNS (``FERRY_ALARM_BACKEND=sns``), as the reference does.

One topic (``FERRY_SNS_TOPIC_NAME``) serves every task. Each recipient gets an
e-mail subscription with a filter policy on the ``recipient`` message
attribute, and each alarm is published with that attribute, so a task's alarm
reaches its own ``alarmEmail`` and not every address subscribed to the topic.
SNS sends a confirmation mail for a new subscription; messages published
before the recipient confirms are not delivered to them (SNS's rule).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import boto3

from imageferry.alarms.base import Alarm, AlarmError
from imageferry.alarms.render import SUBJECT_MAX, render_alarm
from imageferry.aws import aws_client
from imageferry.aws_errors import SNS, AwsCall, aws_errors
from imageferry.errors import AwsError

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

__all__ = ["RECIPIENT_ATTRIBUTE", "SnsNotifier"]

#: The message attribute subscriptions filter on.
RECIPIENT_ATTRIBUTE = "recipient"

R = TypeVar("R")


def _sns_subject(subject: str) -> str:
    """SNS subjects must be printable ASCII, one line, at most 100 characters."""
    ascii_only = subject.replace("…", "...").encode("ascii", "replace").decode("ascii")
    return ascii_only[:SUBJECT_MAX]


class SnsNotifier:
    """Publishes alarms to the SNS topic ``topic_name``, created on first use."""

    def __init__(self, session: boto3.Session, topic_name: str) -> None:
        self._client: SNSClient = aws_client(session, "sns")
        self.topic_name = topic_name
        self._topic_arn: str | None = None
        self._subscribed: set[str] = set()

    def __repr__(self) -> str:
        return f"SnsNotifier(topic_name={self.topic_name!r})"

    @property
    def channel(self) -> str:
        return f"SNS topic {self.topic_name!r} in {self._client.meta.region_name}"

    def _call(self, action: str, function: Callable[..., R], **kwargs: Any) -> R:
        call = AwsCall(SNS, self._client.meta.region_name, action, f"topic {self.topic_name!r}")
        with aws_errors(call):
            return function(**kwargs)

    def topic_arn(self) -> str:
        """The topic's ARN; CreateTopic is idempotent, so this also reuses a topic."""
        if self._topic_arn is None:
            created = self._call("CreateTopic", self._client.create_topic, Name=self.topic_name)
            self._topic_arn = created["TopicArn"]
        return self._topic_arn

    def _subscribed_already(self, arn: str, recipient: str) -> bool:
        paginator = self._client.get_paginator("list_subscriptions_by_topic")
        key = recipient.lower()
        return any(
            sub.get("Protocol") == "email" and sub.get("Endpoint", "").lower() == key
            for page in paginator.paginate(TopicArn=arn)
            for sub in page.get("Subscriptions", [])
        )

    def ensure_subscription(self, recipient: str) -> None:
        """Subscribe ``recipient`` by e-mail unless a subscription already exists."""
        key = recipient.lower()
        if key in self._subscribed:
            return
        arn = self.topic_arn()
        if not self._call(
            "ListSubscriptionsByTopic", self._subscribed_already, arn=arn, recipient=recipient
        ):
            self._call(
                "Subscribe",
                self._client.subscribe,
                TopicArn=arn,
                Protocol="email",
                Endpoint=recipient,
                Attributes={"FilterPolicy": json.dumps({RECIPIENT_ATTRIBUTE: [recipient]})},
            )
        self._subscribed.add(key)

    def send(self, alarm: Alarm) -> None:
        subject, body = render_alarm(alarm)
        try:
            self.ensure_subscription(alarm.recipient)
            self._call(
                "Publish",
                self._client.publish,
                TopicArn=self.topic_arn(),
                Subject=_sns_subject(subject),
                Message=body,
                MessageAttributes={
                    RECIPIENT_ATTRIBUTE: {"DataType": "String", "StringValue": alarm.recipient}
                },
            )
        except AwsError as e:
            raise AlarmError(
                f"the alarm for run {alarm.run_id} to {alarm.recipient} was not sent: {e}"
            ) from e
