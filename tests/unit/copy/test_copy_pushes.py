"""ManifestPushes: images of one run share each by-digest manifest push."""

from __future__ import annotations

import asyncio

import pytest

from imageferry.copy.pushes import ManifestPushes
from imageferry.digest import Digest
from imageferry.errors import ServerError
from unit.copy.fakes import FakeRegistry

DIGEST = Digest.of(b"manifest")


async def test_concurrent_pushes_of_one_manifest_send_it_once() -> None:
    pushes = ManifestPushes()
    destination = FakeRegistry("dst.example").repository("app")
    release = asyncio.Event()
    sent: list[str] = []

    async def push() -> None:
        sent.append("put")
        await release.wait()

    first = asyncio.ensure_future(pushes.push_once(destination, DIGEST, push))
    second = asyncio.ensure_future(pushes.push_once(destination, DIGEST, push))
    await asyncio.sleep(0)
    assert not second.done()  # waits for the push in flight instead of sending its own
    release.set()

    assert await asyncio.gather(first, second) == [True, False]
    assert sent == ["put"]


async def test_a_waiter_pushes_itself_when_the_first_push_fails() -> None:
    pushes = ManifestPushes()
    destination = FakeRegistry("dst.example").repository("app")
    release = asyncio.Event()
    sent: list[str] = []

    async def failing() -> None:
        sent.append("failed put")
        await release.wait()
        raise ServerError("boom", status=500)

    async def working() -> None:
        sent.append("put")

    first = asyncio.ensure_future(pushes.push_once(destination, DIGEST, failing))
    second = asyncio.ensure_future(pushes.push_once(destination, DIGEST, working))
    await asyncio.sleep(0)
    release.set()

    with pytest.raises(ServerError):
        await first
    assert await second is True
    assert sent == ["failed put", "put"]


async def test_pushes_are_per_repository_and_skip_what_was_found() -> None:
    registry = FakeRegistry("dst.example")
    pushes = ManifestPushes()
    sent: list[str] = []

    async def push() -> None:
        sent.append("put")

    pushes.record(registry.repository("found"), DIGEST)

    assert await pushes.push_once(registry.repository("found"), DIGEST, push) is False
    assert await pushes.push_once(registry.repository("other"), DIGEST, push) is True
    assert await pushes.push_once(registry.repository("other"), DIGEST, push) is False
    assert sent == ["put"]
