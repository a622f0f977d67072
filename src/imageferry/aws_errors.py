"""botocore's exceptions as imageferry errors: one line with the service, the cause and the fix.

Every AWS call imageferry makes (STS, ECR, Secrets Manager, SNS) runs inside
:func:`aws_errors`. botocore raises ``NoCredentialsError``, connection errors
and ``ClientError`` with an AWS error code; :func:`describe` sorts them into
the causes a user can act on and words the message once:

    Amazon ECR in us-east-1 (account 123456789012): no AWS credentials found; set
    AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or name a srcCredential secret

Throttling and unreachable endpoints are retried by botocore first (the
clients' retry configuration is in :mod:`imageferry.aws`); what reaches here
has outlasted those retries. AWS's own message is quoted (it names
resources, never keys); access keys and tokens never are.

botocore is imported only when a call has failed, so importing this module
costs nothing on paths that never talk to AWS.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from imageferry.errors import (
    AwsAccessDenied,
    AwsCredentialsError,
    AwsError,
    AwsThrottled,
    AwsUnreachable,
)

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

__all__ = [
    "AWS",
    "CLOUDFORMATION",
    "DYNAMODB",
    "ECR",
    "S3",
    "SECRETS_MANAGER",
    "SERVICES",
    "SNS",
    "STEP_FUNCTIONS",
    "STS",
    "AwsCall",
    "AwsFailure",
    "AwsService",
    "Cause",
    "aws_errors",
    "describe",
    "to_error",
]


@dataclass(frozen=True)
class AwsService:
    """An AWS service as users know it, its IAM prefix and its endpoint variable."""

    name: str
    iam_prefix: str
    endpoint_variable: str


ECR = AwsService("Amazon ECR", "ecr", "AWS_ENDPOINT_URL_ECR")
STS = AwsService("AWS STS", "sts", "AWS_ENDPOINT_URL_STS")
SECRETS_MANAGER = AwsService(
    "AWS Secrets Manager", "secretsmanager", "AWS_ENDPOINT_URL_SECRETS_MANAGER"
)
SNS = AwsService("Amazon SNS", "sns", "AWS_ENDPOINT_URL_SNS")
CLOUDFORMATION = AwsService(
    "AWS CloudFormation", "cloudformation", "AWS_ENDPOINT_URL_CLOUDFORMATION"
)
STEP_FUNCTIONS = AwsService("AWS Step Functions", "states", "AWS_ENDPOINT_URL_SFN")
S3 = AwsService("Amazon S3", "s3", "AWS_ENDPOINT_URL_S3")
DYNAMODB = AwsService("Amazon DynamoDB", "dynamodb", "AWS_ENDPOINT_URL_DYNAMODB")
#: AWS as a whole, for what happens before any one service is called (sessions).
AWS = AwsService("AWS", "", "AWS_ENDPOINT_URL")
#: By boto3's client name.
SERVICES = {
    "ecr": ECR,
    "sts": STS,
    "secretsmanager": SECRETS_MANAGER,
    "sns": SNS,
    "cloudformation": CLOUDFORMATION,
    "stepfunctions": STEP_FUNCTIONS,
    "s3": S3,
    "dynamodb": DYNAMODB,
}


@dataclass(frozen=True)
class AwsCall:
    """One AWS API call, described for its error messages.

    ``subject`` names what the call acts on ("repository 'app'"); ``account``
    whose resources they are. ``keys_from`` names where this call's AWS keys
    could come from besides the environment, e.g. ``"srcCredential"`` (a task
    parameter naming a secret); empty when only the environment gives them.
    """

    service: AwsService
    region: str
    action: str
    subject: str = ""
    account: str = ""
    keys_from: str = ""

    @property
    def where(self) -> str:
        """``Amazon ECR in us-east-1 (account 123456789012)``."""
        text = f"{self.service.name} in {self.region or 'the default region'}"
        return f"{text} (account {self.account})" if self.account else text

    @property
    def permission(self) -> str:
        return f"{self.service.iam_prefix}:{self.action}"


class Cause(Enum):
    """What went wrong, in the terms of what the user can do about it."""

    CREDENTIALS = "credentials"
    DENIED = "denied"
    THROTTLED = "throttled"
    UNREACHABLE = "unreachable"
    NOT_FOUND = "not found"
    OTHER = "other"


@dataclass(frozen=True)
class AwsFailure:
    """A failed call, described: its cause, the one-line message and AWS's error code."""

    cause: Cause
    message: str
    aws_code: str = ""


# AWS error codes by cause, across the services we call (STS and SNS answer
# in XML with their own spellings; ECR and Secrets Manager in JSON).
_REFUSED = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "ExpiredToken",
        "ExpiredTokenException",
        "AuthFailure",
        "MissingAuthenticationToken",
        "MissingAuthenticationTokenException",
    }
)
_DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "AuthorizationError", "UnauthorizedOperation"}
)
_THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequests",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
    }
)
_NOT_FOUND = frozenset(
    {
        "RepositoryNotFoundException",
        "ResourceNotFoundException",
        "NotFound",
        "NotFoundException",
        "NoSuchKey",
        "NoSuchBucket",
    }
)

_ERRORS: dict[Cause, type[AwsError]] = {
    Cause.CREDENTIALS: AwsCredentialsError,
    Cause.DENIED: AwsAccessDenied,
    Cause.THROTTLED: AwsThrottled,
    Cause.UNREACHABLE: AwsUnreachable,
}

_SPACE = re.compile(r"\s+")


def _one_line(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _set_keys(call: AwsCall) -> str:
    """The fix for missing credentials."""
    fix = "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    return f"{fix}, or name a {call.keys_from} secret" if call.keys_from else fix


def _keys_used(call: AwsCall) -> str:
    return (
        f"the keys of the {call.keys_from} secret (or, without one, of the environment)"
        if call.keys_from
        else "the AWS keys in use (AWS_PROFILE or AWS_ACCESS_KEY_ID)"
    )


def describe(error: BaseException, call: AwsCall) -> AwsFailure | None:
    """What ``error`` means for ``call``; None when it is not a botocore error."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        HTTPClientError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
    )
    from botocore.parsers import ResponseParserError

    where = call.where
    if isinstance(error, NoCredentialsError):
        return AwsFailure(
            Cause.CREDENTIALS, f"{where}: no AWS credentials found; {_set_keys(call)}"
        )
    if isinstance(error, PartialCredentialsError):
        return AwsFailure(
            Cause.CREDENTIALS,
            f"{where}: incomplete AWS credentials ({_one_line(str(error))}); {_set_keys(call)}",
        )
    if isinstance(error, ProfileNotFound):
        profile = getattr(error, "kwargs", {}).get("profile", "")
        return AwsFailure(
            Cause.CREDENTIALS,
            f"{where}: the AWS profile {profile!r} is not in the AWS config files; set "
            "AWS_PROFILE to a profile that exists (`aws configure list-profiles`), or unset it",
        )
    if isinstance(error, NoRegionError):
        return AwsFailure(
            Cause.OTHER,
            f"{call.service.name}: no AWS region given; set the task's region, or FERRY_AWS_REGION",
        )
    if isinstance(error, (ConnectionError, HTTPClientError)):
        # Refused, DNS, connect and read timeouts, closed connections, proxy
        # and TLS failures: each carries the endpoint it tried.
        endpoint = str(getattr(error, "kwargs", {}).get("endpoint_url", "")) or "its endpoint"
        return AwsFailure(
            Cause.UNREACHABLE,
            f"{where}: cannot reach {endpoint} ({type(error).__name__}); check the network, "
            f"proxy settings and region name, or {call.service.endpoint_variable} if set",
        )
    if isinstance(error, ClientError):
        return _client_failure(error, call)
    if isinstance(error, ResponseParserError) or _unreadable(error):
        # An answer, but not AWS's: a proxy, a captive portal, or a wrong endpoint URL.
        return AwsFailure(
            Cause.UNREACHABLE,
            f"{where}: the answer to {call.action} is not AWS's (botocore cannot read it); "
            "check the proxy settings (HTTPS_PROXY, NO_PROXY) and the region name, or "
            f"{call.service.endpoint_variable} if set",
        )
    if isinstance(error, BotoCoreError):
        return AwsFailure(Cause.OTHER, f"{where}: {call.action} failed: {_one_line(str(error))}")
    return None


def _unreadable(error: BaseException) -> bool:
    """Raised inside botocore, not as one of its errors: its parser choked on the answer
    (an HTML page where XML was expected fails with a KeyError there)."""
    from botocore.exceptions import BotoCoreError

    if isinstance(error, BotoCoreError):
        return False
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    return frame is not None and "botocore" in Path(frame.tb_frame.f_code.co_filename).parts


def _client_failure(error: ClientError, call: AwsCall) -> AwsFailure:
    info = error.response.get("Error", {})
    code = str(info.get("Code", ""))
    aws_message = _one_line(str(info.get("Message", "")))
    detail = f"{code}: {aws_message}" if aws_message else code
    on = f" on {call.subject}" if call.subject else ""
    where = call.where
    if code in _REFUSED:
        return AwsFailure(
            Cause.CREDENTIALS,
            f"{where}: AWS did not accept the credentials for {call.action} ({detail}); "
            f"check the access key pair in {_keys_used(call)}, and renew the session token "
            "if it expired",
            code,
        )
    if code in _DENIED:
        return AwsFailure(
            Cause.DENIED,
            f"{where}: access denied to {call.permission}{on} ({detail}); grant "
            f"{call.permission} to {_keys_used(call)}",
            code,
        )
    if code in _THROTTLED:
        attempts = int(error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) + 1
        return AwsFailure(
            Cause.THROTTLED,
            f"{where}: {call.action}{on} still throttled after {attempts} attempt(s) "
            f"({detail}); try again later, lower the task's concurrency, or raise "
            "AWS_MAX_ATTEMPTS",
            code,
        )
    cause = Cause.NOT_FOUND if code in _NOT_FOUND else Cause.OTHER
    return AwsFailure(cause, f"{where}: {call.action}{on} failed with {detail}", code)


def to_error(failure: AwsFailure, call: AwsCall) -> AwsError:
    """The :class:`AwsError` subclass for ``failure``'s cause."""
    cls = _ERRORS.get(failure.cause, AwsError)
    return cls(
        failure.message,
        service=call.service.name,
        region=call.region,
        action=call.action,
        aws_code=failure.aws_code,
    )


@contextmanager
def aws_errors(call: AwsCall) -> Iterator[None]:
    """Raise botocore errors of the block as :class:`AwsError`; others pass untouched."""
    try:
        yield
    except Exception as e:
        failure = describe(e, call)
        if failure is None:
            raise
        raise to_error(failure, call) from e
