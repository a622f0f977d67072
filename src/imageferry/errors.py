"""The documented exception tree of imageferry.

Every error raised on purpose by imageferry derives from :class:`FerryError`.
Each carries a one-line, user-facing message naming what is wrong and, where
there is one, how to fix it. Secrets never appear in messages.

::

    FerryError
    ├── InvalidReference            a malformed image reference
    ├── ConfigError                 bad configuration or command-line input
    ├── RegistryError               talking to a registry went wrong
    │   ├── TransportError          connection refused/reset, DNS, timeout
    │   ├── InsecureRegistry        plain HTTP to a non-loopback host without opt-in
    │   ├── ResponseError           the registry answered with an error status
    │   │   ├── Unauthorized        401 after authenticating (bad/missing credentials)
    │   │   ├── Denied              403 / DENIED: credentials lack permission
    │   │   ├── NotFound            404 / *_UNKNOWN: repository, tag, manifest or blob
    │   │   ├── TooManyRequests     429 / TOOMANYREQUESTS (after retries)
    │   │   ├── TagImmutable        the destination refuses to overwrite a tag
    │   │   └── ServerError         5xx (after retries)
    │   └── UnsupportedManifest     schema 1, or a media type we cannot copy
    ├── AwsError                    an AWS API call failed (service, region, action)
    │   ├── AwsCredentialsError     no AWS credentials were found, or AWS refused them
    │   ├── AwsAccessDenied         the credentials lack an IAM permission
    │   ├── AwsThrottled            AWS kept throttling after botocore's retries
    │   └── AwsUnreachable          the service's endpoint could not be reached
    ├── VerificationError           bytes did not match what the descriptor promised
    │   ├── DigestMismatch
    │   └── SizeMismatch
    └── CopyError                   an image copy failed; wraps the cause with context

:mod:`imageferry.aws_errors` turns botocore's exceptions into the ``AwsError``
branch. The ECR errors (:mod:`imageferry.ecr.errors`) are both: an
``EcrCredentialsError`` is a ``RegistryError`` and an ``AwsCredentialsError``.
"""

from __future__ import annotations

__all__ = [
    "AwsAccessDenied",
    "AwsCredentialsError",
    "AwsError",
    "AwsThrottled",
    "AwsUnreachable",
    "ConfigError",
    "CopyError",
    "Denied",
    "DigestMismatch",
    "FerryError",
    "InsecureRegistry",
    "InvalidReference",
    "NotFound",
    "RegistryError",
    "ResponseError",
    "ServerError",
    "SizeMismatch",
    "TagImmutable",
    "TooManyRequests",
    "TransportError",
    "Unauthorized",
    "UnsupportedManifest",
    "VerificationError",
]


class FerryError(Exception):
    """Root of every error imageferry raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidReference(FerryError):
    """An image reference does not follow the reference grammar.

    ``part`` names the offending component (``"host"``, ``"path"``, ``"tag"``,
    ``"digest"`` or ``"reference"``) so that callers can point at it.
    """

    def __init__(self, reference: str, part: str, reason: str) -> None:
        super().__init__(f"invalid image reference {reference!r}: {part} {reason}")
        self.reference = reference
        self.part = part
        self.reason = reason


class ConfigError(FerryError):
    """Configuration or command-line input that cannot be used as given."""


class RegistryError(FerryError):
    """Talking to a registry failed. ``registry`` is the host[:port] spoken to."""

    def __init__(self, message: str, *, registry: str = "", url: str = "") -> None:
        super().__init__(message)
        self.registry = registry
        self.url = url


class TransportError(RegistryError):
    """The connection itself failed: refused, reset, DNS, TLS or timeout."""


class InsecureRegistry(RegistryError):
    """Plain HTTP (or unverified TLS) was needed for a host not opted in."""


class ResponseError(RegistryError):
    """The registry answered with an error status.

    ``code`` is the first OCI error code of the body (``MANIFEST_UNKNOWN`` ...)
    when the body had one, else ``""``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str = "",
        registry: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message, registry=registry, url=url)
        self.status = status
        self.code = code


class Unauthorized(ResponseError):
    """Authentication failed or was required and no usable credentials exist."""


class Denied(ResponseError):
    """Authenticated, but not allowed to do this."""


class NotFound(ResponseError):
    """The repository, tag, manifest or blob does not exist."""


class TooManyRequests(ResponseError):
    """The registry kept rate-limiting us after every retry."""


class TagImmutable(ResponseError):
    """The destination repository has immutable tags and the tag exists."""


class ServerError(ResponseError):
    """The registry kept failing with 5xx after every retry."""


class UnsupportedManifest(RegistryError):
    """A manifest we will not copy (Docker schema 1, unknown media type)."""


class AwsError(FerryError):
    """An AWS API call failed.

    ``service`` is the service's name ("Amazon ECR"), ``region`` where it was
    called, ``action`` the API action ("GetCallerIdentity") and ``aws_code``
    AWS's error code, or ``""`` when AWS did not answer with one.
    """

    def __init__(
        self,
        message: str,
        *,
        service: str = "",
        region: str = "",
        action: str = "",
        aws_code: str = "",
    ) -> None:
        # Defaults because the ECR errors reach this through RegistryError's
        # ``super().__init__(message)`` and set the fields afterwards.
        super().__init__(message)
        self.service = service
        self.region = region
        self.action = action
        self.aws_code = aws_code


class AwsCredentialsError(AwsError):
    """No AWS credentials were found, or AWS did not accept them."""


class AwsAccessDenied(AwsError):
    """The credentials are valid but lack the IAM permission for the action."""


class AwsThrottled(AwsError):
    """AWS kept throttling the action after botocore's own retries."""


class AwsUnreachable(AwsError):
    """The service's endpoint could not be reached (refused, DNS, timeout)."""


class VerificationError(FerryError):
    """Content did not match its descriptor; nothing referencing it is pushed."""


class DigestMismatch(VerificationError):
    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"digest mismatch: expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


class SizeMismatch(VerificationError):
    def __init__(self, digest: str, expected: int, actual: int) -> None:
        super().__init__(f"size mismatch for {digest}: expected {expected} bytes, got {actual}")
        self.digest = digest
        self.expected = expected
        self.actual = actual


class CopyError(FerryError):
    """Copying one image failed. The message says which image and why."""

    def __init__(self, source: str, destination: str, cause: BaseException) -> None:
        super().__init__(f"copying {source} to {destination}: {cause}")
        self.source = source
        self.destination = destination
        self.cause = cause
