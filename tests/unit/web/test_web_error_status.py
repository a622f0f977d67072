"""The JSON API's status for each kind of failure: what a client branches on."""

from __future__ import annotations

import pytest

from imageferry.errors import (
    AwsAccessDenied,
    AwsCredentialsError,
    AwsThrottled,
    AwsUnreachable,
    ConfigError,
    FerryError,
)
from imageferry.web.app import _status_for


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (AwsUnreachable("AWS STS in us-east-1: cannot reach it"), 502),
        (AwsCredentialsError("AWS STS in us-east-1: no AWS credentials found"), 502),
        (AwsAccessDenied("Amazon ECR in us-east-1: access denied"), 502),
        (AwsThrottled("AWS Secrets Manager in us-east-1: throttled"), 503),
        (ConfigError("srcRegion is required"), 422),
        (FerryError("something imageferry did not expect"), 500),
    ],
)
def test_an_aws_failure_is_a_gateway_status_not_a_server_defect(
    error: FerryError, status: int
) -> None:
    assert _status_for(error) == status
