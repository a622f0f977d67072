"""ECR registry host names per AWS partition.

A private ECR registry is addressed as ``<account>.dkr.ecr.<region>.<suffix>``
where the DNS suffix depends on the partition of the region: ``amazonaws.com``
for the commercial partition and GovCloud, ``amazonaws.com.cn`` for the China
regions, and the isolated partitions' own suffixes. The reference only knew
the first two; we also recognise FIPS endpoints (``dkr.ecr-fips``) when parsing
references so that ``ferry copy`` picks ECR authentication for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from imageferry.errors import ConfigError

__all__ = [
    "EcrRegistry",
    "Partition",
    "dns_suffix",
    "parse_registry_host",
    "partition_of",
    "registry_host",
    "validate_account_id",
    "validate_region",
]

Partition = Literal["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"]

_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_SUFFIXES: dict[Partition, str] = {
    "aws": "amazonaws.com",
    "aws-cn": "amazonaws.com.cn",
    "aws-us-gov": "amazonaws.com",
    "aws-iso": "c2s.ic.gov",
    "aws-iso-b": "sc2s.sgov.gov",
}
_HOST = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d{1,2})"
    r"\.(?P<suffix>amazonaws\.com(?:\.cn)?|c2s\.ic\.gov|sc2s\.sgov\.gov)$"
)


@dataclass(frozen=True, slots=True)
class EcrRegistry:
    """A private ECR registry: one account in one region."""

    account_id: str
    region: str

    @property
    def host(self) -> str:
        return registry_host(self.account_id, self.region)

    @property
    def partition(self) -> Partition:
        return partition_of(self.region)

    def __str__(self) -> str:
        return f"account {self.account_id} in {self.region}"


def validate_region(region: str) -> str:
    """``region`` unchanged when it looks like an AWS region name, else ConfigError."""
    if not _REGION.match(region):
        raise ConfigError(
            f"{region!r} is not an AWS region name; use a name such as us-east-1 or cn-north-1"
        )
    return region


def validate_account_id(account_id: str) -> str:
    """``account_id`` unchanged when it is 12 digits, else ConfigError."""
    if not _ACCOUNT.match(account_id):
        raise ConfigError(f"{account_id!r} is not an AWS account id; it must be 12 digits")
    return account_id


def partition_of(region: str) -> Partition:
    """The partition a region belongs to (``cn-north-1`` → ``aws-cn``)."""
    validate_region(region)
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    if region.startswith("us-iso-"):
        return "aws-iso"
    return "aws"


def dns_suffix(region: str) -> str:
    """The DNS suffix of the region's partition (``amazonaws.com.cn`` for China)."""
    return _SUFFIXES[partition_of(region)]


def registry_host(account_id: str, region: str) -> str:
    """``<account>.dkr.ecr.<region>.<suffix>``, the host of a private ECR registry."""
    validate_account_id(account_id)
    return f"{account_id}.dkr.ecr.{region}.{dns_suffix(region)}"


def parse_registry_host(host: str) -> EcrRegistry | None:
    """The account and region of an ECR host, or None for any other registry.

    The suffix must match the region's partition: ``...cn-north-1.amazonaws.com``
    is not an ECR host. A port, if any, is ignored (ECR only serves 443).
    """
    name = host.lower()
    if name.count(":") == 1:
        name = name.partition(":")[0]
    match = _HOST.match(name)
    if match is None:
        return None
    region = match["region"]
    if match["suffix"] != dns_suffix(region):
        return None
    return EcrRegistry(match["account"], region)
