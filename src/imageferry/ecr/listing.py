"""List an ECR registry's repositories, tags and untagged images.

ECR has no ``_catalog``: repositories come from DescribeRepositories and images
from DescribeImages, both paginated (at most 1000 items a page; ``nextToken``
until it is absent). The reference read only the first page of DescribeImages,
so repositories with more than 100 images lost the rest (REFERENCE.md defect 6);
here every listing goes through a boto3 paginator, which follows ``nextToken``
to the end.

``registryId`` is passed on every call so a credential from one account can
list a registry in another (cross-account pull permission).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from imageferry.ecr.client import call
from imageferry.ecr.errors import aws_errors
from imageferry.ecr.hosts import EcrRegistry

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecr.type_defs import ImageDetailTypeDef

__all__ = ["EcrImage", "EcrLister", "TagStatus"]

TagStatus = Literal["TAGGED", "UNTAGGED", "ANY"]

_PAGE_SIZE = 1000  # the largest page DescribeImages/DescribeRepositories allow


@dataclass(frozen=True, slots=True)
class EcrImage:
    """One image (manifest) in an ECR repository, as DescribeImages reports it."""

    repository: str
    digest: str
    tags: tuple[str, ...]
    size: int | None
    pushed_at: datetime | None
    media_type: str | None


class EcrLister:
    """The ``SourceLister`` of an ECR registry (``imageferry.tasks.selection``)."""

    def __init__(
        self,
        client: ECRClient,
        target: EcrRegistry,
        *,
        page_size: int = _PAGE_SIZE,
        keys_from: str = "",
    ):
        self._client = client
        self._target = target
        self._page_size = page_size
        #: The task parameter naming this registry's keys, for error messages.
        self._keys_from = keys_from

    def __repr__(self) -> str:
        return f"EcrLister({self._target.host!r})"

    @property
    def target(self) -> EcrRegistry:
        return self._target

    async def list_repositories(self) -> list[str]:
        """Every repository name in the registry, sorted."""
        with aws_errors("DescribeRepositories", self._target, keys_from=self._keys_from):
            names = await call(self._repository_names)
        return sorted(names)

    async def list_images(self, repository: str, status: TagStatus = "ANY") -> list[EcrImage]:
        """Every image of ``repository`` (all pages), optionally by tag status."""
        what = f"repository {repository!r}"
        with aws_errors("DescribeImages", self._target, what, keys_from=self._keys_from):
            return await call(lambda: list(self._images(repository, status)))

    async def list_tags(self, repository: str) -> list[str]:
        """Every tag of ``repository``, sorted."""
        images = await self.list_images(repository, "TAGGED")
        return sorted({tag for image in images for tag in image.tags})

    async def list_untagged(self, repository: str) -> list[str]:
        """Digests of the images in ``repository`` that have no tag, sorted."""
        images = await self.list_images(repository, "UNTAGGED")
        return sorted({image.digest for image in images if not image.tags})

    # -- blocking parts, run in a worker thread --------------------------------

    def _repository_names(self) -> list[str]:
        paginator = self._client.get_paginator("describe_repositories")
        pages = paginator.paginate(
            registryId=self._target.account_id,
            PaginationConfig={"PageSize": self._page_size},
        )
        return [repo["repositoryName"] for page in pages for repo in page["repositories"]]

    def _images(self, repository: str, status: TagStatus) -> Iterator[EcrImage]:
        paginator = self._client.get_paginator("describe_images")
        pages = paginator.paginate(
            registryId=self._target.account_id,
            repositoryName=repository,
            filter={"tagStatus": status},
            PaginationConfig={"PageSize": self._page_size},
        )
        for page in pages:
            for detail in page["imageDetails"]:
                yield _image(repository, detail)


def _image(repository: str, detail: ImageDetailTypeDef) -> EcrImage:
    return EcrImage(
        repository=repository,
        digest=detail["imageDigest"],
        tags=tuple(detail.get("imageTags", ())),
        size=detail.get("imageSizeInBytes"),
        pushed_at=detail.get("imagePushedAt"),
        media_type=detail.get("imageManifestMediaType"),
    )
