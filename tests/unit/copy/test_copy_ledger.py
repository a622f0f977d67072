"""The blob ledger: reuse, mount, upload, and waiting for a transfer in flight."""

from __future__ import annotations

import asyncio

import pytest

from imageferry.copy.ledger import BlobLedger
from imageferry.digest import Digest
from imageferry.manifest import Descriptor
from unit.copy.fakes import FakeRegistry

DATA = b"layer-bytes"
BLOB = Descriptor("application/octet-stream", Digest.of(DATA), len(DATA))


def uploader(registry: FakeRegistry, repo: str, counter: list[str]) -> object:
    async def upload() -> int:
        counter.append(repo)
        await asyncio.sleep(0.01)  # let the other images arrive while this one is in flight
        registry.add_blob(repo, DATA)
        return len(DATA)

    return upload


async def test_many_images_wanting_one_blob_upload_it_once() -> None:
    registry = FakeRegistry("r.example")
    ledger = BlobLedger()
    uploads: list[str] = []
    repos = [f"app{i}" for i in range(5)]

    outcomes = await asyncio.gather(
        *(
            ledger.ensure(registry.repository(repo), BLOB, uploader(registry, repo, uploads))  # type: ignore[arg-type]
            for repo in repos
        )
    )

    assert uploads == ["app0"]
    assert [o.action for o in outcomes] == ["uploaded"] + ["mounted"] * 4
    assert [o.bytes_transferred for o in outcomes] == [len(DATA), 0, 0, 0, 0]
    assert ledger.locations("r.example", BLOB.digest) == frozenset(repos)


async def test_same_repository_waits_then_knows() -> None:
    registry = FakeRegistry("r.example")
    ledger = BlobLedger()
    uploads: list[str] = []
    repo = registry.repository("app")

    outcomes = await asyncio.gather(
        ledger.ensure(repo, BLOB, uploader(registry, "app", uploads)),  # type: ignore[arg-type]
        ledger.ensure(repo, BLOB, uploader(registry, "app", uploads)),  # type: ignore[arg-type]
    )

    assert uploads == ["app"]
    assert [o.action for o in outcomes] == ["uploaded", "known"]
    assert [c[0] for c in registry.calls] == ["has_blob"]  # the second asked nobody


async def test_existing_blob_is_found_by_head() -> None:
    registry = FakeRegistry("r.example")
    registry.add_blob("app", DATA)
    ledger = BlobLedger()

    async def must_not_upload() -> int:
        raise AssertionError("uploaded a blob the destination has")

    outcome = await ledger.ensure(registry.repository("app"), BLOB, must_not_upload)

    assert outcome.action == "exists"
    assert outcome.bytes_reused == len(DATA)
    assert ledger.locations("r.example", BLOB.digest) == {"app"}


async def test_locations_are_per_registry() -> None:
    one, two = FakeRegistry("one.example"), FakeRegistry("two.example")
    ledger = BlobLedger()
    uploads: list[str] = []

    await ledger.ensure(one.repository("a"), BLOB, uploader(one, "a", uploads))  # type: ignore[arg-type]
    await ledger.ensure(two.repository("b"), BLOB, uploader(two, "b", uploads))  # type: ignore[arg-type]

    assert uploads == ["a", "b"]  # no mount across registries
    assert two.calls_of("mount_blob") == []


async def test_a_failed_leader_lets_the_waiter_try_itself() -> None:
    registry = FakeRegistry("r.example")
    ledger = BlobLedger()
    uploads: list[str] = []

    async def failing() -> int:
        await asyncio.sleep(0.01)
        raise ConnectionError("boom")

    first, second = await asyncio.gather(
        ledger.ensure(registry.repository("a"), BLOB, failing),
        ledger.ensure(registry.repository("b"), BLOB, uploader(registry, "b", uploads)),  # type: ignore[arg-type]
        return_exceptions=True,
    )

    assert isinstance(first, ConnectionError)
    assert not isinstance(second, BaseException) and second.action == "uploaded"
    assert uploads == ["b"]


@pytest.mark.parametrize("declined", [True, False])
async def test_mount_or_upload_when_known_elsewhere(declined: bool) -> None:
    registry = FakeRegistry("r.example", mount_declined=declined)
    registry.add_blob("base", DATA)
    ledger = BlobLedger()
    ledger.record("r.example", "base", BLOB.digest)
    uploads: list[str] = []

    outcome = await ledger.ensure(
        registry.repository("app"),
        BLOB,
        uploader(registry, "app", uploads),  # type: ignore[arg-type]
    )

    assert outcome.action == ("uploaded" if declined else "mounted")
    assert uploads == (["app"] if declined else [])
