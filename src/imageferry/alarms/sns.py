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
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from imageferry.alarms.base import Alarm, AlarmError
from imageferry.alarms.render import SUBJECT_MAX, render_alarm

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

__all__ = ["RECIPIENT_ATTRIBUTE", "SnsNotifier"]

#: The message attribute subscriptions filter on.
RECIPIENT_ATTRIBUTE = "recipient"


def _sns_subject(subject: str) -> str:
    """SNS subjects must be printable ASCII, one line, at most 100 characters."""
    ascii_only = subject.replace("…", "...").encode("ascii", "replace").decode("ascii")
    return ascii_only[:SUBJECT_MAX]


class SnsNotifier:
    """Publishes alarms to the SNS topic ``topic_name``, created on first use."""

    def __init__(self, session: boto3.Session, topic_name: str) -> None:
        self._client: SNSClient = session.client("sns")
        self.topic_name = topic_name
        self._topic_arn: str | None = None
        self._subscribed: set[str] = set()

    def __repr__(self) -> str:
        return f"SnsNotifier(topic_name={self.topic_name!r})"

    def topic_arn(self) -> str:
        """The topic's ARN; CreateTopic is idempotent, so this also reuses a topic."""
        if self._topic_arn is None:
            self._topic_arn = self._client.create_topic(Name=self.topic_name)["TopicArn"]
        return self._topic_arn

    def ensure_subscription(self, recipient: str) -> None:
        """Subscribe ``recipient`` by e-mail unless a subscription already exists."""
        key = recipient.lower()
        if key in self._subscribed:
            return
        arn = self.topic_arn()
        paginator = self._client.get_paginator("list_subscriptions_by_topic")
        for page in paginator.paginate(TopicArn=arn):
            for sub in page.get("Subscriptions", []):
                if sub.get("Protocol") == "email" and sub.get("Endpoint", "").lower() == key:
                    self._subscribed.add(key)
                    return
        self._client.subscribe(
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
            self._client.publish(
                TopicArn=self.topic_arn(),
                Subject=_sns_subject(subject),
                Message=body,
                MessageAttributes={
                    RECIPIENT_ATTRIBUTE: {"DataType": "String", "StringValue": alarm.recipient}
                },
            )
        except (ClientError, BotoCoreError) as e:
            raise AlarmError(
                f"sending the alarm for run {alarm.run_id} to {alarm.recipient} through "
                f"SNS topic {self.topic_name!r} failed: {e}"
            ) from None
