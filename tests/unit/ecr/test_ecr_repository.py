"""EcrRepository: a broken layer download from ECR continues with a ranged GET."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from imageferry.copy.capabilities import RangedSource
from imageferry.digest import Digest
from imageferry.ecr.repository import EcrRepository
from imageferry.manifest import Descriptor


class _Inner:
    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []

    @asynccontextmanager
    async def open_blob_at(self, descriptor: Descriptor, offset: int) -> AsyncIterator[Any]:
        self.asked.append((str(descriptor.digest), offset))

        async def rest() -> AsyncIterator[bytes]:
            yield b"tail"

        yield rest()


async def test_an_ecr_source_resumes_a_blob_from_the_offset_it_reached() -> None:
    inner = _Inner()
    repository = EcrRepository(cast(Any, inner), cast(Any, None))
    assert isinstance(repository, RangedSource)
    digest = Digest.parse("sha256:" + "a" * 64)
    descriptor = Descriptor(media_type="application/octet-stream", digest=digest, size=10)
    async with repository.open_blob_at(descriptor, 6) as chunks:
        assert [c async for c in chunks] == [b"tail"]
    assert inner.asked == [(str(digest), 6)]
