"""The blob ledger: reuse, mount, upload, and waiting for a transfer in flight."""

from __future__ import annotations

import asyncio

import pytest

from imageferry.copy.ledger import BlobLedger
from imageferry.digest import Digest
from imageferry.errors import Denied, NotFound
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


class _TagRepository:
    """A destination answering tag HEADs and tags/list, recording both."""

    registry = "r.example"
    repository = "app"

    def __init__(self, tags: list[str] | None, head_error: Exception | None = None) -> None:
        self.tags = tags  # None: the repository does not exist (404)
        self.head_error = head_error
        self.asked: list[str] = []

    async def list_tags(self) -> list[str]:
        self.asked.append("tags/list")
        if self.tags is None:
            raise NotFound("repository unknown", status=404, code="NAME_UNKNOWN")
        return self.tags

    def head(self, tag: str) -> object:
        async def go() -> Descriptor | None:
            self.asked.append(tag)
            await asyncio.sleep(0.01)  # the others arrive while the first is asking
            if self.head_error is not None:
                raise self.head_error
            return BLOB if self.tags and tag in self.tags else None

        return go


async def lookups(repo: _TagRepository, tags: list[str]) -> list[object]:
    ledger = BlobLedger()
    return await asyncio.gather(
        *(ledger.lookup_tag(repo, repo.head(t)) for t in tags),  # type: ignore[arg-type]
        return_exceptions=True,
    )


async def test_tags_in_a_repository_without_tags_are_not_asked_for() -> None:
    repo = _TagRepository(tags=None)
    assert await lookups(repo, ["v1", "v2", "v3"]) == [None, None, None]
    assert repo.asked == ["v1", "tags/list"]


async def test_a_missing_first_tag_in_a_used_repository_lets_each_ask() -> None:
    repo = _TagRepository(tags=["v2"])
    assert await lookups(repo, ["v1", "v2", "v3"]) == [None, BLOB, None]
    assert sorted(repo.asked) == ["tags/list", "v1", "v2", "v3"]


async def test_a_found_first_tag_lets_each_ask_without_a_probe() -> None:
    repo = _TagRepository(tags=["v1", "v2"])
    assert await lookups(repo, ["v1", "v2", "v3"]) == [BLOB, BLOB, None]
    assert sorted(repo.asked) == ["v1", "v2", "v3"]


async def test_a_failed_first_lookup_leaves_the_others_to_ask() -> None:
    denied = Denied("denied", status=403, code="DENIED")
    repo = _TagRepository(tags=None, head_error=denied)
    results = await lookups(repo, ["v1", "v2"])
    assert results == [denied, denied]
    assert repo.asked == ["v1", "v2"]
