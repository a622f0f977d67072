"""The blob reader: verified reads, resumption of a broken source, rewinds to a mark."""

from __future__ import annotations

import pytest

from imageferry.copy.pipeline import BlobReader
from imageferry.digest import Digest
from imageferry.errors import DigestMismatch
from imageferry.manifest import Descriptor
from unit.copy.fakes import FakeRegistry

DATA = bytes(range(60))
DESCRIPTOR = Descriptor("application/octet-stream", Digest.of(DATA), len(DATA))


def reader(registry: FakeRegistry, notes: list[str], counted: list[int]) -> BlobReader:
    registry.add_blob("app", DATA)
    return BlobReader(registry.repository("app"), DESCRIPTOR, counted.append, notes.append)


async def take(blob: BlobReader, n: int) -> bytes:
    """Exactly ``n`` bytes (a read returns at most one piece of the source)."""
    out = b""
    while len(out) < n:
        out += await blob.read(n - len(out))
    return out


async def read_all(blob: BlobReader, step: int = 10) -> bytes:
    out = b""
    while piece := await blob.read(step):
        out += piece
    return out


async def test_rewind_between_the_mark_and_the_position_reads_on_from_there() -> None:
    registry, notes, counted = FakeRegistry("src"), [], []
    blob = reader(registry, notes, counted)
    head = await take(blob, 20)
    blob.mark()
    head += await take(blob, 10)

    assert await blob.rewind(5) is False  # before the mark: its hash state is gone
    assert await blob.rewind(25) is True
    rest = await read_all(blob)

    assert head[:25] + rest == DATA  # and the digest check at the end passed
    assert [c[2] for c in registry.calls_of("open_blob_at")] == [f"{DESCRIPTOR.digest} 20"]
    assert sum(counted) == len(DATA)
    assert notes == ["upload resumed at byte 25"]


async def test_source_broken_half_way_is_read_on_with_a_range() -> None:
    registry, notes, counted = FakeRegistry("src"), [], []
    registry.break_reads[DESCRIPTOR.digest] = 1
    blob = reader(registry, notes, counted)

    assert await read_all(blob, 1 << 20) == DATA
    assert [c[2] for c in registry.calls_of("open_blob_at")] == [f"{DESCRIPTOR.digest} 30"]
    assert len(notes) == 1 and notes[0].startswith("source stream resumed at byte 30")


async def test_corrupt_bytes_fail_at_the_end_and_are_kept_as_the_failure() -> None:
    registry, notes, counted = FakeRegistry("src"), [], []
    registry.corrupt_reads[DESCRIPTOR.digest] = 1
    blob = reader(registry, notes, counted)

    with pytest.raises(DigestMismatch):
        await read_all(blob)
    assert isinstance(blob.failure, DigestMismatch)
