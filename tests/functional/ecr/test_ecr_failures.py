"""Every ECR action imageferry calls, failing every way: a typed error, one line, the fix.

The actions run against a loopback endpoint that refuses (AccessDenied,
throttling), a port nobody listens on, or with no AWS credentials at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from imageferry.ecr.auth import EcrCredentialProvider
from imageferry.ecr.client import ecr_client
from imageferry.ecr.errors import (
    EcrAccessDenied,
    EcrCredentialsError,
    EcrError,
    EcrThrottled,
    EcrUnreachable,
)
from imageferry.ecr.hosts import EcrRegistry
from imageferry.ecr.layers import batch_check_layers
from imageferry.ecr.listing import EcrLister
from imageferry.ecr.repositories import ensure_repository
from imageferry.sandbox.registry import free_port
from stand_ins.aws_refusals import AwsRefusals

TARGET = EcrRegistry("123456789012", "us-east-1")
HEAD = "Amazon ECR in us-east-1 (account 123456789012): "
DIGEST = "sha256:" + "a" * 64

ACTIONS: dict[str, Callable[[], Awaitable[object]]] = {
    "GetAuthorizationToken": lambda: EcrCredentialProvider().token(TARGET),
    "DescribeImages": lambda: EcrLister(ecr_client("us-east-1"), TARGET).list_tags("app"),
    "DescribeRepositories": lambda: ensure_repository(
        ecr_client("us-east-1"), "app", target=TARGET
    ),
    "BatchCheckLayerAvailability": lambda: batch_check_layers(
        ecr_client("us-east-1"), "app", [DIGEST], target=TARGET
    ),
}


@pytest.fixture
def aws_isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECR"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    return monkeypatch


def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")


async def _fails(action: str) -> EcrError:
    with pytest.raises(EcrError) as caught:
        await ACTIONS[action]()
    message = str(caught.value)
    assert message.startswith(HEAD) and "\n" not in message
    assert caught.value.action == action
    return caught.value


@pytest.mark.parametrize("action", list(ACTIONS))
async def test_no_credentials(action: str, aws_isolated: pytest.MonkeyPatch) -> None:
    error = await _fails(action)
    assert isinstance(error, EcrCredentialsError)
    assert "no AWS credentials found; set AWS_PROFILE or AWS_ACCESS_KEY_ID" in str(error)


@pytest.mark.parametrize("action", list(ACTIONS))
async def test_unreachable(action: str, aws_isolated: pytest.MonkeyPatch) -> None:
    _keys(aws_isolated)
    closed = f"http://127.0.0.1:{free_port()}"
    aws_isolated.setenv("AWS_ENDPOINT_URL_ECR", closed)
    error = await _fails(action)
    assert isinstance(error, EcrUnreachable)
    assert f"cannot reach {closed}/" in str(error)


@pytest.mark.parametrize("action", list(ACTIONS))
async def test_access_denied(action: str, aws_isolated: pytest.MonkeyPatch) -> None:
    _keys(aws_isolated)
    with AwsRefusals("AccessDeniedException") as ecr:
        aws_isolated.setenv("AWS_ENDPOINT_URL_ECR", ecr.url)
        error = await _fails(action)
    assert isinstance(error, EcrAccessDenied)
    assert f"access denied to ecr:{action}" in str(error)
    assert f"grant ecr:{action} to the AWS keys in use" in str(error)


@pytest.mark.parametrize("action", list(ACTIONS))
async def test_throttled_after_botocores_retries(
    action: str, aws_isolated: pytest.MonkeyPatch
) -> None:
    _keys(aws_isolated)
    with AwsRefusals("ThrottlingException") as ecr:
        aws_isolated.setenv("AWS_ENDPOINT_URL_ECR", ecr.url)
        error = await _fails(action)
    assert isinstance(error, EcrThrottled)
    assert f"{action}" in str(error) and "still throttled after 2 attempt(s)" in str(error)
    assert ecr.calls[action] == 2
