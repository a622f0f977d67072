"""Deterministic sandbox content: bytes and tar+gzip layers."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile

from imageferry.sandbox.content import (
    diff_id_of,
    layer_chunks,
    make_layer,
    measure_layer,
    random_bytes,
    random_chunks,
)


def test_random_chunks_do_not_depend_on_chunking() -> None:
    whole = random_bytes("x", 10_000)
    assert len(whole) == 10_000
    assert b"".join(random_chunks("x", 10_000, chunk_size=999)) == whole
    assert all(len(c) <= 999 for c in random_chunks("x", 10_000, chunk_size=999))
    assert random_bytes("y", 10_000) != whole
    assert random_bytes(0, 0) == b""


def test_layer_is_a_gzipped_tar_with_one_file_of_the_asked_size() -> None:
    layer = make_layer("seed", 3000)
    with tarfile.open(fileobj=io.BytesIO(layer.blob), mode="r:gz") as tar:
        (member,) = tar.getmembers()
        assert member.size == 3000
        extracted = tar.extractfile(member)
        assert extracted is not None
        assert extracted.read() == random_bytes("seed", 3000)
    assert layer.diff_id == "sha256:" + hashlib.sha256(gzip.decompress(layer.blob)).hexdigest()
    assert layer.digest == "sha256:" + hashlib.sha256(layer.blob).hexdigest()


def test_equal_seeds_share_layers_and_different_seeds_do_not() -> None:
    assert make_layer("a", 100) == make_layer("a", 100)
    assert make_layer("a", 100).digest != make_layer("b", 100).digest


def test_streamed_layer_matches_its_measurement() -> None:
    size = 300_000
    blob = b"".join(layer_chunks("big", size, chunk_size=4096))
    digest, diff_id, blob_size = measure_layer("big", size, chunk_size=4096)
    assert blob == make_layer("big", size).blob
    assert (digest, diff_id, blob_size) == (
        "sha256:" + hashlib.sha256(blob).hexdigest(),
        diff_id_of(blob),
        len(blob),
    )


def test_diff_id_of_plain_bytes_is_their_digest() -> None:
    assert diff_id_of(b"not gzip") == "sha256:" + hashlib.sha256(b"not gzip").hexdigest()


def test_sandbox_package_exports() -> None:
    import imageferry.sandbox as sandbox

    missing = [name for name in sandbox.__all__ if not hasattr(sandbox, name)]
    assert missing == []
    assert {"LocalRegistry", "push_image", "build_fleet"} <= set(sandbox.__all__)
    assert "TokenServer" not in sandbox.__all__  # a test-only server, in tests/stand_ins
