"""Throttling is botocore's to retry first; only what outlasts the retries is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from imageferry.aws import AwsKeys
from imageferry.errors import AwsThrottled
from imageferry.tasks.connections import _caller_account
from stand_ins.aws_refusals import ACCOUNT, AwsRefusals

KEYS = AwsKeys("AKIATEST", "test-secret")


@pytest.fixture
def sts_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_RETRY_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent"))
    return monkeypatch


def test_a_passing_throttle_is_retried_and_never_seen(sts_env: pytest.MonkeyPatch) -> None:
    sts_env.delenv("AWS_MAX_ATTEMPTS", raising=False)  # botocore's default: 3 attempts
    with AwsRefusals("Throttling", 400, succeed_after=2) as sts:
        sts_env.setenv("AWS_ENDPOINT_URL_STS", sts.url)
        assert _caller_account("us-east-1", KEYS, "destCredential") == ACCOUNT
    assert sts.calls["GetCallerIdentity"] == 3


def test_a_lasting_throttle_is_reported_after_the_configured_attempts(
    sts_env: pytest.MonkeyPatch,
) -> None:
    sts_env.setenv("AWS_MAX_ATTEMPTS", "4")
    with AwsRefusals("Throttling", 400) as sts:
        sts_env.setenv("AWS_ENDPOINT_URL_STS", sts.url)
        with pytest.raises(AwsThrottled) as caught:
            _caller_account("us-east-1", KEYS, "destCredential")
    assert sts.calls["GetCallerIdentity"] == 4
    assert "GetCallerIdentity still throttled after 4 attempt(s)" in str(caught.value)


def test_ecr_retries_longer_unless_aws_max_attempts_says(sts_env: pytest.MonkeyPatch) -> None:
    from imageferry.aws import aws_client, aws_session
    from imageferry.ecr.client import ecr_client

    sts_env.delenv("AWS_MAX_ATTEMPTS", raising=False)
    assert ecr_client("us-east-1").meta.config.retries["total_max_attempts"] == 6
    sts = aws_client(aws_session("us-east-1"), "sts")
    assert "total_max_attempts" not in sts.meta.config.retries  # botocore's own 3
    sts_env.setenv("AWS_MAX_ATTEMPTS", "2")
    assert ecr_client("us-east-1").meta.config.retries["total_max_attempts"] == 2
