"""Deterministic content for sandbox images: fast pseudo-random bytes and real layers.

Bytes come from an AES-CTR keystream keyed by a hash of a ``seed`` (about
4 GB/s here), so equal seeds give equal blobs (shared layers) and different
seeds give different ones, at any chunking.

Layers are genuine ``tar+gzip`` blobs: a tar holding one file of random bytes,
wrapped in gzip of stored (uncompressed) deflate blocks: valid gzip at
memcpy speed. They
must be real gzip: skopeo (containers/image) sniffs the magic bytes and would
otherwise *compress* a "gzip" layer while copying, changing its digest. The
config's ``rootfs.diff_ids`` are the sha256 of the uncompressed tar
(image-spec config.md, "Layer DiffID").
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "CHUNK_SIZE",
    "Layer",
    "diff_id_of",
    "layer_chunks",
    "make_layer",
    "measure_layer",
    "random_bytes",
    "random_chunks",
]

CHUNK_SIZE = 4 << 20
_TAR_BLOCK = 512
_STORED_MAX = 65535
# A non-final stored block of _STORED_MAX bytes: BFINAL=0 and BTYPE=00 in one
# byte-aligned header byte, then LEN and its one's complement NLEN.
_STORED_HEADER = b"\x00" + struct.pack("<HH", _STORED_MAX, _STORED_MAX ^ 0xFFFF)


def random_chunks(seed: int | str, size: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """``size`` pseudo-random bytes for ``seed``, as chunks of at most ``chunk_size``."""
    key = hashlib.sha256(f"imageferry-sandbox:{seed}".encode()).digest()
    encryptor = Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor()
    zeros = bytes(min(chunk_size, size))
    remaining = size
    while remaining > 0:
        n = min(chunk_size, remaining)
        yield encryptor.update(zeros if n == len(zeros) else zeros[:n])
        remaining -= n


def random_bytes(seed: int | str, size: int) -> bytes:
    """All of :func:`random_chunks` at once; for small blobs."""
    return b"".join(random_chunks(seed, size))


def _tar_chunks(seed: int | str, size: int, chunk_size: int) -> Iterator[bytes]:
    """A ustar archive with one regular file of ``size`` random bytes."""
    name = "sandbox/" + hashlib.sha1(str(seed).encode(), usedforsecurity=False).hexdigest()
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 1704067200  # 2024-01-01: fixed, so equal seeds give equal blobs
    yield info.tobuf(format=tarfile.USTAR_FORMAT)
    yield from random_chunks(seed, size, chunk_size)
    padding = -size % _TAR_BLOCK
    yield bytes(padding + 2 * _TAR_BLOCK)  # pad the file, then the end-of-archive marker


def _stored_gzip(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Gzip (RFC 1952) made of uncompressed deflate blocks (RFC 1951 §3.2.4).

    Written by hand rather than with zlib so that block boundaries, and hence
    the blob's digest, do not depend on how the input happens to be chunked.
    """
    # ID1 ID2, CM=deflate, no flags, MTIME 0, XFL 0, OS 255 (unknown).
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    crc, total = 0, 0
    pending = b""
    for chunk in chunks:
        crc = zlib.crc32(chunk, crc)
        total += len(chunk)
        data = pending + chunk if pending else chunk
        full = len(data) - len(data) % _STORED_MAX
        if full:
            view = memoryview(data)
            parts: list[bytes | memoryview] = []
            for i in range(0, full, _STORED_MAX):
                parts += (_STORED_HEADER, view[i : i + _STORED_MAX])
            yield b"".join(parts)
        pending = data[full:]
    yield b"\x01" + struct.pack("<HH", len(pending), len(pending) ^ 0xFFFF) + pending
    yield struct.pack("<II", crc, total & 0xFFFFFFFF)


def layer_chunks(seed: int | str, size: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The gzip-compressed layer blob for ``seed``, as chunks; see :func:`make_layer`.

    The bytes are the same whatever ``chunk_size`` is.
    """
    return _stored_gzip(_tar_chunks(seed, size, chunk_size))


@dataclass(frozen=True, slots=True)
class Layer:
    """A layer blob and what a config and manifest say about it."""

    blob: bytes
    diff_id: str

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.blob).hexdigest()


def make_layer(seed: int | str, size: int) -> Layer:
    """A layer whose single file holds ``size`` random bytes (the blob is a bit larger)."""
    tar = b"".join(_tar_chunks(seed, size, CHUNK_SIZE))
    blob = b"".join(_stored_gzip(iter((tar,))))
    return Layer(blob, "sha256:" + hashlib.sha256(tar).hexdigest())


def measure_layer(seed: int | str, size: int, chunk_size: int = CHUNK_SIZE) -> tuple[str, str, int]:
    """(digest, diff_id, blob size) of :func:`layer_chunks`, in flat memory."""
    tar_hash = hashlib.sha256()

    def hashed_tar() -> Iterator[bytes]:
        for chunk in _tar_chunks(seed, size, chunk_size):
            tar_hash.update(chunk)
            yield chunk

    blob_hash, blob_size = hashlib.sha256(), 0
    for out in _stored_gzip(hashed_tar()):
        blob_hash.update(out)
        blob_size += len(out)
    return f"sha256:{blob_hash.hexdigest()}", f"sha256:{tar_hash.hexdigest()}", blob_size


def diff_id_of(blob: bytes) -> str:
    """The DiffID of caller-supplied layer bytes: of the gunzipped content when
    the blob is gzip, else of the bytes themselves."""
    data = gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob
    return "sha256:" + hashlib.sha256(data).hexdigest()
