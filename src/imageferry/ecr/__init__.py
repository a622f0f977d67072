"""Amazon ECR: registry hosts, login tokens, repositories, listing and layer checks.

The registry data plane of ECR is an OCI registry and is spoken to by
:mod:`imageferry.registry`; this package covers what is ECR-specific: the
host names per partition, the ``AWS:<token>`` credentials from
GetAuthorizationToken, creating destination repositories, listing through
DescribeRepositories/DescribeImages, and BatchCheckLayerAvailability.
"""

from imageferry.ecr.auth import EcrCredentialProvider, EcrToken, decode_token
from imageferry.ecr.client import ecr_client
from imageferry.ecr.errors import (
    EcrAccessDenied,
    EcrCredentialsError,
    EcrError,
    EcrRepositoryNotFound,
    EcrThrottled,
    EcrUnreachable,
)
from imageferry.ecr.hosts import (
    EcrRegistry,
    parse_registry_host,
    partition_of,
    registry_host,
)
from imageferry.ecr.layers import batch_check_layers
from imageferry.ecr.listing import EcrImage, EcrLister
from imageferry.ecr.repositories import (
    Ensured,
    RepositoryEnsurer,
    RepositorySettings,
    ensure_repository,
    tag_immutable,
    tag_immutable_from,
)

__all__ = [
    "EcrAccessDenied",
    "EcrCredentialProvider",
    "EcrCredentialsError",
    "EcrError",
    "EcrImage",
    "EcrLister",
    "EcrRegistry",
    "EcrRepositoryNotFound",
    "EcrThrottled",
    "EcrToken",
    "EcrUnreachable",
    "Ensured",
    "RepositoryEnsurer",
    "RepositorySettings",
    "batch_check_layers",
    "decode_token",
    "ecr_client",
    "ensure_repository",
    "parse_registry_host",
    "partition_of",
    "registry_host",
    "tag_immutable",
    "tag_immutable_from",
]
