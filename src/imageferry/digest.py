"""Content digests (OCI image-spec, "Digests") and streaming verification."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from imageferry.errors import DigestMismatch, SizeMismatch

__all__ = ["Digest", "Verifier"]

# image-spec descriptor.md: algorithm-component [algorithm-separator algorithm-component]*
_ALGORITHM = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*$")
_ENCODED = re.compile(r"^[a-zA-Z0-9=_-]+$")
# Registered algorithms must use lowercase hex of a fixed length.
_REGISTERED = {"sha256": 64, "sha512": 128}


@dataclass(frozen=True, slots=True)
class Digest:
    """``algorithm:encoded``, e.g. ``sha256:9f86d08...``."""

    algorithm: str
    encoded: str

    @classmethod
    def parse(cls, value: str) -> Digest:
        algorithm, sep, encoded = value.partition(":")
        if not sep or not _ALGORITHM.match(algorithm) or not _ENCODED.match(encoded):
            raise ValueError(f"{value!r} is not a digest of the form algorithm:hex")
        length = _REGISTERED.get(algorithm)
        if length is not None and (
            len(encoded) != length or not re.fullmatch(r"[0-9a-f]+", encoded)
        ):
            raise ValueError(f"{value!r}: {algorithm} needs {length} lowercase hex characters")
        return cls(algorithm, encoded)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    @property
    def verifiable(self) -> bool:
        """True when we can compute this algorithm to check content against it."""
        return self.algorithm in _REGISTERED

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.encoded}"


class Verifier:
    """Hashes and counts a stream of chunks; :meth:`verify` checks both at EOF.

    Used on every blob we move, so that a corrupt or truncated stream fails
    before anything that references the blob is pushed.
    """

    __slots__ = ("_hash", "digest", "expected_size", "size")

    def __init__(self, digest: Digest, expected_size: int | None) -> None:
        self.digest = digest
        self.expected_size = expected_size
        self.size = 0
        self._hash = hashlib.new(digest.algorithm) if digest.verifiable else None

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.expected_size is not None and self.size > self.expected_size:
            raise SizeMismatch(str(self.digest), self.expected_size, self.size)
        if self._hash is not None:
            self._hash.update(chunk)

    def copy(self) -> Verifier:
        """An independent verifier standing where this one stands (to go back to later)."""
        twin = Verifier.__new__(Verifier)
        twin.digest, twin.expected_size, twin.size = self.digest, self.expected_size, self.size
        twin._hash = self._hash.copy() if self._hash is not None else None
        return twin

    def verify(self) -> None:
        if self.expected_size is not None and self.size != self.expected_size:
            raise SizeMismatch(str(self.digest), self.expected_size, self.size)
        if self._hash is not None:
            actual = f"{self.digest.algorithm}:{self._hash.hexdigest()}"
            if actual != str(self.digest):
                raise DigestMismatch(str(self.digest), actual)
