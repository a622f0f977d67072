"""The reference's parameter table, with imageferry's extensions marked.

One row per parameter: name, allowed values, default and description, in the
reference's order (Data Transfer Hub, "Amazon ECR transfer task", Parameters)
followed by the extensions. :mod:`imageferry.tasks.params` validates against
it; the README and the console's wizard render it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ALL_TAGS", "DEFAULT_RATE", "PARAMETER_NAMES", "PARAMETER_TABLE", "ParameterInfo"]

DEFAULT_RATE = "rate(1 day)"
#: The srcImageList tag meaning "every tag of this repository".
ALL_TAGS = "ALL_TAGS"


@dataclass(frozen=True, slots=True)
class ParameterInfo:
    """A row of the parameter table rendered by the README and the console."""

    name: str
    allowed: tuple[str, ...]
    default: str
    description: str
    is_extension: bool = False


PARAMETER_TABLE: tuple[ParameterInfo, ...] = (
    ParameterInfo(
        "sourceType",
        ("Amazon_ECR", "Public"),
        "Amazon_ECR",
        "Source registry type: Amazon_ECR, or Public for Docker Hub, gcr.io, quay.io, "
        "ghcr.io and other registries.",
    ),
    ParameterInfo("srcRegion", (), "", "Source region (Amazon_ECR sources only), e.g. us-west-1."),
    ParameterInfo(
        "srcAccountId",
        (),
        "",
        "Source AWS account id (Amazon_ECR sources only); blank means the current account.",
    ),
    ParameterInfo(
        "srcList",
        ("ALL", "SELECTED"),
        "ALL",
        "ALL copies every repository and tag; SELECTED copies srcImageList. "
        "Public sources need SELECTED (or srcRegistry).",
    ),
    ParameterInfo(
        "srcImageList",
        (),
        "",
        "Images to copy, comma separated (repo, repo:tag, repo:ALL_TAGS, repo@digest, "
        "host:port/repo:tag); blank when srcList is ALL.",
    ),
    ParameterInfo(
        "srcCredential",
        (),
        "",
        "Secret name holding source credentials (access_key_id/secret_access_key for "
        "ECR, username/password for other registries); blank for none. A password goes "
        "only to the source registry: the source ECR, srcRegistry, or the one registry "
        "a Public task's images come from.",
    ),
    ParameterInfo("destRegion", (), "", "Destination region, e.g. cn-north-1."),
    ParameterInfo(
        "destAccountId",
        (),
        "",
        "Destination AWS account id; blank means the current account.",
    ),
    ParameterInfo(
        "destPrefix",
        (),
        "",
        "Repository prefix at the destination: prefix/<source repository>.",
    ),
    ParameterInfo(
        "destCredential",
        (),
        "",
        "Secret name holding destination credentials; blank for the default chain.",
    ),
    ParameterInfo(
        "includeUntagged",
        ("true", "false"),
        "true",
        "Also copy untagged images (by digest).",
    ),
    ParameterInfo(
        "ecsClusterName",
        (),
        "",
        "ECS cluster for the AWS deployment (unused when running locally).",
    ),
    ParameterInfo("ecsVpcId", (), "", "VPC id for the AWS deployment, e.g. vpc-bef13dc7."),
    ParameterInfo(
        "ecsSubnetA", (), "", "First subnet id for the AWS deployment, e.g. subnet-97bfc4cd."
    ),
    ParameterInfo(
        "ecsSubnetB", (), "", "Second subnet id for the AWS deployment, e.g. subnet-7ad7de32."
    ),
    ParameterInfo("alarmEmail", (), "", "E-mail address told when a run ends with failed images."),
    ParameterInfo(
        "srcRegistry",
        (),
        "",
        "Any OCI registry host[:port] as source; with srcList=ALL its catalog is listed.",
        True,
    ),
    ParameterInfo(
        "destRegistry",
        (),
        "",
        "Any OCI registry host[:port] as destination; destRegion/destAccountId unused.",
        True,
    ),
    ParameterInfo(
        "includeTags",
        (),
        "",
        "Regular expression; only listed tags matching it entirely are copied.",
        True,
    ),
    ParameterInfo(
        "excludeTags",
        (),
        "",
        "Regular expression; listed tags matching it entirely are skipped.",
        True,
    ),
    ParameterInfo(
        "multiArch",
        ("all", "system", "index-only"),
        "all",
        "Multi-architecture images: every platform, the host's only, or the index alone.",
        True,
    ),
    ParameterInfo(
        "platforms",
        (),
        "",
        "Comma list of platforms to keep, e.g. linux/amd64,linux/arm64 (blank: all).",
        True,
    ),
    ParameterInfo(
        "copyReferrers",
        ("true", "false"),
        "false",
        "Also copy what refers to each image: signatures, SBOMs, attestations.",
        True,
    ),
    ParameterInfo(
        "scheduleType",
        ("ONE_TIME", "FIXED_RATE", "CRON", "ON_PUSH"),
        "FIXED_RATE",
        "When the task runs: once, at a fixed rate (the reference runs daily), by cron, "
        "or on each push of a matching image (ON_PUSH, see Runs on push).",
        True,
    ),
    ParameterInfo(
        "scheduleExpression",
        (),
        DEFAULT_RATE,
        "FIXED_RATE: rate(1 day), rate(6 hours), 1d, 6h, 30m; CRON: 5-field cron.",
        True,
    ),
    ParameterInfo(
        "destScanOnPush",
        ("true", "false"),
        "false",
        "ECR repositories imageferry creates: scan images on push.",
        True,
    ),
    ParameterInfo(
        "destTagMutability",
        ("MUTABLE", "IMMUTABLE"),
        "MUTABLE",
        "ECR repositories imageferry creates: tag mutability.",
        True,
    ),
    ParameterInfo(
        "destEncryption",
        ("AES256", "KMS"),
        "AES256",
        "ECR repositories imageferry creates: encryption type.",
        True,
    ),
    ParameterInfo("destKmsKey", (), "", "KMS key id or ARN when destEncryption is KMS.", True),
    ParameterInfo(
        "concurrency",
        (),
        "",
        "Images copied at once (1-256); blank: adaptive, paced by each registry's replies.",
        True,
    ),
    ParameterInfo("name", (), "", "Optional task name.", True),
)

PARAMETER_NAMES: tuple[str, ...] = tuple(p.name for p in PARAMETER_TABLE)
