"""AWS failures while talking to the ECR control plane, as imageferry errors.

The wording is :mod:`imageferry.aws_errors`'s, as for every AWS call; this
module gives the ECR errors their own types, which are both registry errors
(the copy engine retries an unreachable ECR like any unreachable registry)
and AWS errors (``except AwsCredentialsError`` catches ECR's too).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from imageferry.aws_errors import ECR, AwsCall, AwsFailure, Cause, describe
from imageferry.ecr.hosts import EcrRegistry
from imageferry.errors import (
    AwsAccessDenied,
    AwsCredentialsError,
    AwsError,
    AwsThrottled,
    AwsUnreachable,
    RegistryError,
    TransportError,
)

__all__ = [
    "EcrAccessDenied",
    "EcrCredentialsError",
    "EcrError",
    "EcrRepositoryNotFound",
    "EcrThrottled",
    "EcrUnreachable",
    "aws_errors",
    "ecr_call",
]


class EcrError(RegistryError, AwsError):
    """An ECR control-plane call failed.

    ``action`` is the API action (``DescribeImages`` ...), ``registry`` the ECR
    host, ``aws_code`` the AWS error code or ``""`` when there was none.
    """

    def __init__(
        self, message: str, *, action: str, target: EcrRegistry | None, aws_code: str = ""
    ) -> None:
        super().__init__(message, registry=target.host if target else "")
        self.service = ECR.name
        self.region = target.region if target else ""
        self.action = action
        self.target = target
        self.aws_code = aws_code


class EcrCredentialsError(EcrError, AwsCredentialsError):
    """No AWS credentials were found, or AWS did not accept them."""


class EcrAccessDenied(EcrError, AwsAccessDenied):
    """The credentials are valid but lack the IAM permission for the action."""


class EcrRepositoryNotFound(EcrError):
    """The named repository does not exist in the registry."""


class EcrThrottled(EcrError, AwsThrottled):
    """AWS kept throttling the action after botocore's own retries."""


class EcrUnreachable(EcrError, TransportError, AwsUnreachable):
    """The ECR API endpoint could not be reached."""


_ERRORS: dict[Cause, type[EcrError]] = {
    Cause.CREDENTIALS: EcrCredentialsError,
    Cause.DENIED: EcrAccessDenied,
    Cause.THROTTLED: EcrThrottled,
    Cause.UNREACHABLE: EcrUnreachable,
    Cause.NOT_FOUND: EcrRepositoryNotFound,
}


def ecr_call(
    action: str, target: EcrRegistry | None, what: str = "", keys_from: str = ""
) -> AwsCall:
    """The :class:`AwsCall` of an ECR action on ``target``'s registry."""
    return AwsCall(
        ECR,
        target.region if target else "",
        action,
        subject=what,
        account=target.account_id if target else "",
        keys_from=keys_from,
    )


def _error(failure: AwsFailure, action: str, target: EcrRegistry | None) -> EcrError:
    cls = _ERRORS.get(failure.cause, EcrError)
    return cls(failure.message, action=action, target=target, aws_code=failure.aws_code)


@contextmanager
def aws_errors(
    action: str, target: EcrRegistry | None, what: str = "", *, keys_from: str = ""
) -> Iterator[None]:
    """Translate botocore errors raised inside the block into :class:`EcrError`.

    ``what`` adds the object acted on (``repository 'app'``) to the message;
    ``keys_from`` names the task parameter whose secret holds this registry's
    keys (``srcCredential``), for the fix the message suggests.
    """
    try:
        yield
    except Exception as e:
        failure = describe(e, ecr_call(action, target, what, keys_from))
        if failure is None:
            raise
        raise _error(failure, action, target) from e
