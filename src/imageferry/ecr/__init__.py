"""Amazon ECR: registry hosts, login tokens, repositories, listing and layer checks.

The registry data plane of ECR is an OCI registry and is spoken to by
:mod:`imageferry.registry`; this package covers what is ECR-specific: the
host names per partition, the ``AWS:<token>`` credentials from
GetAuthorizationToken, creating destination repositories, listing through
DescribeRepositories/DescribeImages, and BatchCheckLayerAvailability.
"""

from typing import TYPE_CHECKING

from imageferry.lazy import lazy_exports

if TYPE_CHECKING:
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

# Names load on first use (PEP 562): most of this package needs boto3, which
# `ferry copy` between non-ECR registries should not pay for at start-up.
_EXPORTS = {
    "EcrAccessDenied": "imageferry.ecr.errors",
    "EcrCredentialProvider": "imageferry.ecr.auth",
    "EcrCredentialsError": "imageferry.ecr.errors",
    "EcrError": "imageferry.ecr.errors",
    "EcrImage": "imageferry.ecr.listing",
    "EcrLister": "imageferry.ecr.listing",
    "EcrRegistry": "imageferry.ecr.hosts",
    "EcrRepositoryNotFound": "imageferry.ecr.errors",
    "EcrThrottled": "imageferry.ecr.errors",
    "EcrToken": "imageferry.ecr.auth",
    "EcrUnreachable": "imageferry.ecr.errors",
    "Ensured": "imageferry.ecr.repositories",
    "RepositoryEnsurer": "imageferry.ecr.repositories",
    "RepositorySettings": "imageferry.ecr.repositories",
    "batch_check_layers": "imageferry.ecr.layers",
    "decode_token": "imageferry.ecr.auth",
    "ecr_client": "imageferry.ecr.client",
    "ensure_repository": "imageferry.ecr.repositories",
    "parse_registry_host": "imageferry.ecr.hosts",
    "partition_of": "imageferry.ecr.hosts",
    "registry_host": "imageferry.ecr.hosts",
    "tag_immutable": "imageferry.ecr.repositories",
    "tag_immutable_from": "imageferry.ecr.repositories",
}


__getattr__ = lazy_exports(__name__, _EXPORTS)


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
