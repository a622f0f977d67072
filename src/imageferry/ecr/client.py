"""boto3 ECR clients, made from the one session factory in :mod:`imageferry.aws`.

boto3 is synchronous; the async parts of imageferry call these clients through
:func:`call` which runs the call in a worker thread (``asyncio.to_thread``) so
the event loop keeps moving other copies meanwhile. boto3 clients are
thread-safe, sessions are not: a session is only used here, to make a client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from imageferry.aws import AwsKeys, aws_client, aws_session

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

__all__ = ["call", "ecr_client"]

P = ParamSpec("P")
R = TypeVar("R")


def ecr_client(region: str, credentials: AwsKeys | None = None) -> ECRClient:
    """An ECR client for ``region``; the default credential chain without credentials.

    ``AWS_ENDPOINT_URL_ECR`` (read by botocore) redirects it, which is how the
    tests reach the ECR stand-in (``tests/stand_ins/ecr.py``).
    """
    client: ECRClient = aws_client(aws_session(region, credentials), "ecr")
    return client


async def call(function: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a blocking boto3 call in a worker thread."""
    return await asyncio.to_thread(function, *args, **kwargs)
