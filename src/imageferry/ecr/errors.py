"""AWS failures while talking to the ECR control plane, as imageferry errors.

botocore raises ``ClientError`` (with an AWS error code), ``NoCredentialsError``
and connection errors. :func:`aws_errors` turns each into a subclass of
:class:`EcrError` whose message names the action, the account and region and
the AWS error code, and says how to fix the common cases. The AWS message is
included (it names resources, never keys); access keys and tokens never are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from imageferry.ecr.hosts import EcrRegistry
from imageferry.errors import RegistryError, TransportError

__all__ = [
    "EcrAccessDenied",
    "EcrCredentialsError",
    "EcrError",
    "EcrRepositoryNotFound",
    "EcrThrottled",
    "EcrUnreachable",
    "aws_errors",
]

_CREDENTIAL_CODES = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredTokenException",
    "ExpiredToken",
}
_DENIED_CODES = {"AccessDeniedException", "AccessDenied"}
_THROTTLE_CODES = {"ThrottlingException", "TooManyRequestsException", "LimitExceededException"}


class EcrError(RegistryError):
    """An ECR control-plane call failed.

    ``action`` is the API action (``DescribeImages`` ...), ``registry`` the ECR
    host, ``aws_code`` the AWS error code or ``""`` when there was none.
    """

    def __init__(
        self, message: str, *, action: str, target: EcrRegistry | None, aws_code: str = ""
    ) -> None:
        super().__init__(message, registry=target.host if target else "")
        self.action = action
        self.target = target
        self.aws_code = aws_code


class EcrCredentialsError(EcrError):
    """No AWS credentials were found, or AWS did not accept them."""


class EcrAccessDenied(EcrError):
    """The credentials are valid but lack the IAM permission for the action."""


class EcrRepositoryNotFound(EcrError):
    """The named repository does not exist in the registry."""


class EcrThrottled(EcrError):
    """AWS kept throttling the action after botocore's own retries."""


class EcrUnreachable(EcrError, TransportError):
    """The ECR API endpoint could not be reached."""


def _where(target: EcrRegistry | None) -> str:
    return f" for {target}" if target else ""


@contextmanager
def aws_errors(action: str, target: EcrRegistry | None, what: str = "") -> Iterator[None]:
    """Translate botocore errors raised inside the block into :class:`EcrError`.

    ``what`` adds the object acted on (``repository 'app'``) to the message.
    """
    subject = f" ({what})" if what else ""
    where = _where(target)
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as e:
        raise EcrCredentialsError(
            f"ECR {action}{subject}{where}: no usable AWS credentials were found; name a "
            "credential (a secret with access_key_id and secret_access_key) or configure the "
            "default AWS credential chain",
            action=action,
            target=target,
        ) from e
    except NoRegionError as e:
        raise EcrError(
            f"ECR {action}{subject}: no AWS region was given", action=action, target=target
        ) from e
    except ParamValidationError as e:
        raise EcrError(
            f"ECR {action}{subject}{where}: invalid request: {e}", action=action, target=target
        ) from e
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as e:
        raise EcrUnreachable(
            f"ECR {action}{subject}{where}: cannot reach the ECR API endpoint ({e}); check "
            "the network, proxy settings and the region name",
            action=action,
            target=target,
        ) from e
    except ClientError as e:
        raise _from_client_error(e, action, target, subject) from e


def _from_client_error(
    error: ClientError, action: str, target: EcrRegistry | None, subject: str
) -> EcrError:
    info = error.response.get("Error", {})
    code = str(info.get("Code", ""))
    aws_message = str(info.get("Message", "")).strip()
    detail = f"{code}: {aws_message}" if aws_message else code
    head = f"ECR {action}{subject}{_where(target)} failed with {detail}"
    if code in _CREDENTIAL_CODES:
        return EcrCredentialsError(
            f"{head}; AWS did not accept the credentials: check the access key pair "
            "(or session token) in the credential used for this registry",
            action=action,
            target=target,
            aws_code=code,
        )
    if code in _DENIED_CODES:
        return EcrAccessDenied(
            f"{head}; grant ecr:{action} to the credential used for this registry",
            action=action,
            target=target,
            aws_code=code,
        )
    if code == "RepositoryNotFoundException":
        return EcrRepositoryNotFound(head, action=action, target=target, aws_code=code)
    if code in _THROTTLE_CODES:
        return EcrThrottled(
            f"{head}; AWS is throttling this action, lower the task's concurrency",
            action=action,
            target=target,
            aws_code=code,
        )
    return EcrError(head, action=action, target=target, aws_code=code)
