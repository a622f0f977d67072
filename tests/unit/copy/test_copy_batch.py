"""Batch blob checks: a destination that can say which of many blobs it holds in one call.

The engine asks once per image manifest instead of one ``has_blob`` per blob,
remembers the answer in the run's ledger, and falls back to per-blob checks
when the batch cannot answer or would not pay off.
"""

from __future__ import annotations

import pytest

from imageferry.copy import BlobBatchCheck, BlobLedger, CopyEngine
from imageferry.digest import Digest
from imageferry.errors import ResponseError
from imageferry.manifest import Descriptor, Platform, RawManifest
from imageferry.reference import Reference
from unit.copy.fakes import FakeRegistries, FakeRegistry, store_image, store_index

SRC = "src.example"
DST = "ecr.example"


def ref(text: str) -> Reference:
    return Reference.parse(text)


def layers(prefix: str, n: int) -> list[bytes]:
    return [f"{prefix}-layer-{i}".encode() for i in range(n)]


@pytest.fixture
def src() -> FakeRegistry:
    return FakeRegistry(SRC)


@pytest.fixture
def dst() -> FakeRegistry:
    return FakeRegistry(DST, batch_from=3)


def engine(src: FakeRegistry, dst: FakeRegistry, **kwargs: object) -> CopyEngine:
    return CopyEngine(FakeRegistries(src, dst), retry_delay=0, **kwargs)  # type: ignore[arg-type]


def ops(registry: FakeRegistry, op: str) -> list[str]:
    return [arg for name, _, arg in registry.calls if name == op]


def test_only_batch_capable_destinations_have_the_capability() -> None:
    assert isinstance(FakeRegistry(DST, batch_from=3).repository("a"), BlobBatchCheck)
    assert not isinstance(FakeRegistry(DST).repository("a"), BlobBatchCheck)


async def test_thirty_layers_are_checked_in_one_call_not_thirty_heads(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    raw = store_image(src, "app", b"cfg", layers("a", 30), tag="v1")

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))

    assert result.status == "copied", result.error
    assert dst.tag("app", "v1") == raw
    assert ops(dst, "has_blobs") == ["31"]  # config + 30 layers, one question
    assert ops(dst, "has_blob") == []
    assert len(ops(dst, "put_blob")) == 31


async def test_blobs_the_batch_finds_are_not_sent(src: FakeRegistry, dst: FakeRegistry) -> None:
    data = layers("a", 10)
    store_image(src, "app", b"cfg", data, tag="v1")
    for blob in data[:6]:
        dst.add_blob("app", blob)
    copier = engine(src, dst)

    result = await copier.copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))

    assert result.status == "copied", result.error
    assert ops(dst, "has_blob") == []
    assert len(ops(dst, "put_blob")) == 5  # 4 layers and the config
    assert result.bytes_reused == sum(len(b) for b in data[:6])
    actions = [outcome.action for _, _, outcome in copier.ledger.outcomes]
    assert sorted(actions) == ["exists"] * 6 + ["uploaded"] * 5


async def test_a_later_image_asks_only_about_blobs_the_run_does_not_know(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    base = layers("base", 8)
    store_image(src, "app", b"cfg-1", [*base, *layers("one", 4)], tag="v1")
    store_image(src, "app", b"cfg-2", [*base, *layers("two", 4)], tag="v2")
    copier = engine(src, dst)

    first = await copier.copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))
    second = await copier.copy(ref(f"{SRC}/app:v2"), ref(f"{DST}/app:v2"))

    assert first.status == second.status == "copied"
    # 13 blobs for the first image; the second shares 8 and asks about its 5 new ones.
    assert ops(dst, "has_blobs") == ["13", "5"]
    assert ops(dst, "has_blob") == []
    assert second.bytes_reused == sum(len(b) for b in base)
    assert second.bytes_transferred == len(b"cfg-2") + sum(len(b) for b in layers("two", 4))


async def test_few_unknown_blobs_use_per_blob_checks(src: FakeRegistry, dst: FakeRegistry) -> None:
    store_image(src, "app", b"cfg", [b"only-layer"], tag="v1")

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))

    assert result.status == "copied", result.error
    assert ops(dst, "has_blobs") == []
    assert len(ops(dst, "has_blob")) == 2


async def test_a_failing_batch_check_falls_back_to_per_blob_checks(src: FakeRegistry) -> None:
    dst = FakeRegistry(
        DST,
        batch_from=3,
        batch_error=ResponseError("denied", status=403, code="DENIED", registry=DST),
    )
    data = layers("a", 5)
    raw = store_image(src, "app", b"cfg", data, tag="v1")
    dst.add_blob("app", data[0])

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))

    assert result.status == "copied", result.error
    assert dst.tag("app", "v1") == raw
    assert ops(dst, "has_blobs") == ["6"]
    assert len(ops(dst, "has_blob")) == 6
    assert len(ops(dst, "put_blob")) == 5


async def test_a_bug_in_a_batch_check_is_not_hidden(src: FakeRegistry) -> None:
    dst = FakeRegistry(DST, batch_from=3, batch_error=KeyError("layers"))
    store_image(src, "app", b"cfg", layers("a", 5), tag="v1")

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))

    assert result.status == "failed"
    assert result.error is not None and "KeyError" in result.error
    assert dst.tag("app", "v1") is None


async def test_destinations_without_the_capability_keep_one_check_per_blob(
    src: FakeRegistry,
) -> None:
    dst = FakeRegistry(DST)
    store_image(src, "app", b"cfg", layers("a", 30), tag="v1")

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))

    assert result.status == "copied", result.error
    assert len(ops(dst, "has_blob")) == 31


async def test_each_platform_of_an_index_is_one_batch(src: FakeRegistry, dst: FakeRegistry) -> None:
    children: list[tuple[RawManifest, Platform | None]] = []
    for arch in ("amd64", "arm64"):
        child = store_image(src, "app", f"cfg-{arch}".encode(), layers(arch, 4), oci=True)
        children.append((child, Platform("linux", arch)))
    index = store_index(src, "app", children, tag="v1")

    result = await engine(src, dst).copy(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))

    assert result.status == "copied", result.error
    assert result.digest == str(index.digest)
    assert ops(dst, "has_blobs") == ["5", "5"]
    assert ops(dst, "has_blob") == []


async def test_dry_run_counts_missing_blobs_with_one_batch(
    src: FakeRegistry, dst: FakeRegistry
) -> None:
    data = layers("a", 10)
    store_image(src, "app", b"cfg", data, tag="v1")
    for blob in data[:4]:
        dst.add_blob("app", blob)

    (planned,) = await engine(src, dst).dry_run([(ref(f"{SRC}/app:v1"), ref(f"{DST}/app:v1"))])

    assert planned.status == "would-copy"
    assert (planned.blobs_total, planned.blobs_missing) == (11, 7)
    assert planned.bytes_missing == len(b"cfg") + sum(len(b) for b in data[4:])
    assert ops(dst, "has_blobs") == ["11"]
    assert ops(dst, "has_blob") == []
    assert ops(dst, "put_blob") == []


async def test_the_ledger_records_what_a_batch_found(dst: FakeRegistry) -> None:
    present = [dst.add_blob("app", b) for b in layers("x", 3)]
    absent = [Digest.of(b) for b in layers("y", 2)]
    wanted = [Descriptor("application/octet-stream", d, 1) for d in [*present, *absent]]
    repo = dst.repository("app")
    ledger = BlobLedger()

    await ledger.check_many(repo, wanted)  # type: ignore[arg-type]

    for digest in present:
        assert ledger.locations(DST, digest) == frozenset({"app"})
    assert all(ledger.known_absent(repo, d) for d in absent)  # type: ignore[arg-type]
    # The answer is used once: a later decision asks the registry again.
    assert not ledger.known_absent(repo, absent[0])  # type: ignore[arg-type]
    assert ledger.batch_checks == 1
