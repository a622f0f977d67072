"""The one place that makes boto3 sessions.

Following warehouse's habit, a :class:`boto3.Session` is built here and passed
to whatever needs AWS (secret store, SNS notifier, ECR client) instead of each
component calling ``boto3.client`` on its own. boto3 reads its standard
``AWS_*`` environment variables itself (profile, region, ``AWS_ENDPOINT_URL_<SERVICE>``),
so no endpoint is passed here: tests point services at loopback servers
through those variables.

Every client is made by :func:`aws_client`, with one retry configuration:
botocore's standard mode, which retries throttling, transient 5xx and
connection failures with exponential backoff. ``AWS_MAX_ATTEMPTS`` (or the
profile's ``max_attempts``) sets how many attempts, as for the AWS CLI;
without it, :data:`DEFAULT_ATTEMPTS` per service. What still fails after that
is worded by :mod:`imageferry.aws_errors`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3

__all__ = ["CONNECT_TIMEOUT", "DEFAULT_ATTEMPTS", "AwsKeys", "aws_client", "aws_session"]

#: Seconds to wait for a TCP connection to an AWS endpoint (botocore's default is 60).
CONNECT_TIMEOUT = 10
#: Attempts per call when neither AWS_MAX_ATTEMPTS nor the profile says: botocore's
#: 3, but 6 for ECR, whose listing and layer actions are throttled first in a
#: large registry (DescribeImages per repository, a batch check per image).
DEFAULT_ATTEMPTS = {"ecr": 6}


@dataclass(frozen=True)
class AwsKeys:
    """An IAM access key pair (and optional session token).

    The secret parts are excluded from ``repr`` so that the value can be logged
    or shown in a traceback without leaking them.
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def aws_session(region: str | None = None, credentials: AwsKeys | None = None) -> boto3.Session:
    """A boto3 session for ``region`` using ``credentials``.

    Without credentials the default AWS credential chain applies (environment,
    shared config files, instance or task role), as the reference does when a
    task names no credential.
    """
    import boto3  # here, not at the top: boto3 costs ~0.1 s to import

    from imageferry.aws_errors import AWS, AwsCall, aws_errors

    # A session reads AWS_PROFILE's profile at once: a missing one fails here.
    with aws_errors(AwsCall(AWS, region or "", "session setup")):
        if credentials is None:
            return boto3.Session(region_name=region)
        return boto3.Session(
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
            region_name=region,
        )


def aws_client(session: boto3.Session, service: str) -> Any:
    """``session.client(service)`` with imageferry's retry and timeout configuration.

    Typed ``Any`` because each caller annotates the client it gets
    (``ECRClient``, ``STSClient`` ...), as boto3-stubs' overloads would.
    """
    from botocore.config import Config

    from imageferry.aws_errors import SERVICES, AwsCall, aws_errors

    # Making a client reads the profile: a missing AWS_PROFILE fails here.
    with aws_errors(AwsCall(SERVICES[service], _region(session), "client setup")):
        retries: dict[str, Any] = {"mode": "standard"}
        # An explicit max_attempts would override AWS_MAX_ATTEMPTS: set one only
        # when the user's configuration has none.
        configured = session._session.get_config_variable("max_attempts")
        if configured is None and service in DEFAULT_ATTEMPTS:
            retries["total_max_attempts"] = DEFAULT_ATTEMPTS[service]
        config = Config(retries=retries, connect_timeout=CONNECT_TIMEOUT)  # type: ignore[arg-type]
        return session.client(service, config=config)  # type: ignore[call-overload]


def _region(session: boto3.Session) -> str:
    try:
        return session.region_name or ""
    except Exception:  # the profile it would be read from is broken: said by the caller
        return ""
