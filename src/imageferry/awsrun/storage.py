"""The run's AWS storage: JSON objects in S3, rows in DynamoDB, a message to SNS.

Every call runs inside :func:`imageferry.aws_errors.aws_errors`, so a failure
is one line naming the service, the call and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from imageferry.aws import aws_client, aws_session
from imageferry.aws_errors import DYNAMODB, S3, SNS, AwsCall, AwsService, aws_errors
from imageferry.errors import ConfigError

__all__ = ["BY_EXECUTION", "RunStorage", "from_item", "split_location", "to_item"]

#: The table's index by run (``Execution`` hash key, ``Image`` range key).
BY_EXECUTION = "ByExecution"
#: Items per BatchWriteItem request (DynamoDB's limit).
_WRITE_CHUNK = 25
_WRITE_ROUNDS = 8


def split_location(text: str) -> tuple[str, str]:
    """``bucket/key`` (as the state machine formats ``RESULTS_MANIFEST``) -> parts."""
    bucket, _, key = text.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise ConfigError(f"{text!r} is not <bucket>/<key> of an S3 object")
    return bucket, key


class RunStorage:
    """One run's bucket, table and topic, in ``region``."""

    def __init__(self, region: str, bucket: str, table: str, topic_arn: str = "") -> None:
        session = aws_session(region)
        self.region = region
        self.bucket = bucket
        self.table = table
        self.topic_arn = topic_arn
        self._s3: Any = aws_client(session, "s3")
        self._dynamodb: Any = aws_client(session, "dynamodb")
        self._sns: Any = aws_client(session, "sns") if topic_arn else None

    @contextmanager
    def _call(self, service: AwsService, action: str, subject: str) -> Iterator[None]:
        with aws_errors(AwsCall(service, self.region, action, subject=subject)):
            yield

    def put_json(self, key: str, value: object) -> None:
        body = json.dumps(value, separators=(",", ":")).encode()
        with self._call(S3, "PutObject", f"s3://{self.bucket}/{key}"):
            self._s3.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType="application/json"
            )

    def get_json(self, key: str, bucket: str = "") -> Any:
        bucket = bucket or self.bucket
        with self._call(S3, "GetObject", f"s3://{bucket}/{key}"):
            body = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        try:
            return json.loads(body)
        except ValueError:
            raise ConfigError(f"s3://{bucket}/{key} is not JSON") from None

    def exists(self, key: str) -> bool:
        with self._call(S3, "ListObjectsV2", f"s3://{self.bucket}/{key}"):
            found = self._s3.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        return any(item["Key"] == key for item in found.get("Contents", []))

    def put_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write ``rows`` (plain values) with BatchWriteItem, 25 at a time."""
        for start in range(0, len(rows), _WRITE_CHUNK):
            requests = [
                {"PutRequest": {"Item": to_item(row)}} for row in rows[start : start + _WRITE_CHUNK]
            ]
            self._write(requests)

    def _write(self, requests: list[dict[str, Any]]) -> None:
        with self._call(DYNAMODB, "BatchWriteItem", f"table {self.table}"):
            for _ in range(_WRITE_ROUNDS):
                answer = self._dynamodb.batch_write_item(RequestItems={self.table: requests})
                requests = answer.get("UnprocessedItems", {}).get(self.table, [])
                if not requests:
                    return
        raise ConfigError(
            f"Amazon DynamoDB in {self.region}: table {self.table} left {len(requests)} row(s) "
            f"unwritten after {_WRITE_ROUNDS} rounds; check its capacity"
        )

    def run_rows(self, run_id: str) -> list[dict[str, Any]]:
        """Every row of ``run_id``, through the ``ByExecution`` index, all pages."""
        rows: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": BY_EXECUTION,
            "KeyConditionExpression": "#e = :run",
            "ExpressionAttributeNames": {"#e": "Execution"},
            "ExpressionAttributeValues": {":run": {"S": run_id}},
        }
        with self._call(DYNAMODB, "Query", f"index {BY_EXECUTION} of table {self.table}"):
            while True:
                page = self._dynamodb.query(**query)
                rows += [from_item(item) for item in page.get("Items", [])]
                if "LastEvaluatedKey" not in page:
                    return rows
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def publish(self, subject: str, message: str) -> None:
        if self._sns is None:
            raise ConfigError("ALARM_TOPIC_ARN is not set; the stack's task definition sets it")
        with self._call(SNS, "Publish", f"topic {self.topic_arn}"):
            self._sns.publish(TopicArn=self.topic_arn, Subject=subject, Message=message)


def to_item(row: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name, value in row.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)):
            item[name] = {"N": str(round(value, 3) if isinstance(value, float) else value)}
        elif value != "":
            item[name] = {"S": str(value)}
    return item


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, typed in item.items():
        if "S" in typed:
            row[name] = typed["S"]
        elif "N" in typed:
            number = float(typed["N"])
            row[name] = int(number) if number.is_integer() else number
    return row
