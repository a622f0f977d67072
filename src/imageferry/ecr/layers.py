"""Which blobs an ECR repository already has, many at a time.

The OCI way to ask is one ``HEAD /v2/<name>/blobs/<digest>`` per blob. ECR's
control plane answers the same question for up to 100 digests in one
BatchCheckLayerAvailability call. For a destination repository the copy
engine can therefore, before copying an image (or a whole batch of images to
the same repository), call::

    present = await batch_check_layers(client, repo, [all config+layer digests])

and treat every digest in ``present`` as already there (no HEAD, no upload),
and HEAD/mount/upload only the rest. With n blobs this is ceil(n/100) control
plane calls instead of n registry HEADs. It only pays off for several blobs:
for one or two, a HEAD is as cheap, so :func:`worth_batching` says when to use it.
The registry layer would expose it as an optional ``ImageDestination``
capability (``has_blobs(digests) -> set``) implemented with this function for
ECR hosts; that wiring belongs to the registry/copy modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from imageferry.ecr.client import call
from imageferry.ecr.errors import aws_errors
from imageferry.ecr.hosts import EcrRegistry

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

__all__ = ["BATCH_LIMIT", "batch_check_layers", "worth_batching"]

#: BatchCheckLayerAvailability accepts at most this many digests per call.
BATCH_LIMIT = 100
_MIN_WORTHWHILE = 3


def worth_batching(blob_count: int) -> bool:
    """True when one batch call saves requests over per-blob HEADs."""
    return blob_count >= _MIN_WORTHWHILE


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def batch_check_layers(
    client: ECRClient,
    repository: str,
    digests: Iterable[str],
    *,
    target: EcrRegistry,
) -> set[str]:
    """The subset of ``digests`` available in ``repository``.

    Digests are de-duplicated and checked 100 per call. A digest reported as a
    failure (``MissingLayerDigest``) or as ``UNAVAILABLE`` counts as absent.
    """
    unique = list(dict.fromkeys(digests))
    present: set[str] = set()
    for chunk in _chunks(unique, BATCH_LIMIT):
        with aws_errors("BatchCheckLayerAvailability", target, f"repository {repository!r}"):
            response = await call(
                client.batch_check_layer_availability,
                registryId=target.account_id,
                repositoryName=repository,
                layerDigests=list(chunk),
            )
        for layer in response.get("layers", []):
            digest = layer.get("layerDigest")
            if digest and layer.get("layerAvailability") == "AVAILABLE":
                present.add(digest)
    return present
