"""One push per manifest digest per destination repository in a run.

Two images of one run often share manifests: ``app:2.0.0`` and
``app:latest`` name the same index, so both would push the same child
manifests by digest into the same repository, at the same moment. Besides
being wasted requests, the second push can break the first image:
distribution's filesystem storage rewrites a manifest's link and data files
by truncating them, then writing them, and an index PUT that checks its
children while one of them is being rewritten reads it empty and is refused
(400 ``MANIFEST_BLOB_UNKNOWN``). So the images of a run share each
by-digest push: the first pushes, the others wait for it and push nothing.
Tags are still pushed by each image that names one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from imageferry.copy.turns import KeyedTurns
from imageferry.digest import Digest
from imageferry.interfaces import ImageDestination

__all__ = ["ManifestPushes"]

_Key = tuple[str, str, Digest]


class ManifestPushes:
    """The by-digest manifest pushes of one run: done, and in flight."""

    def __init__(self) -> None:
        self._done: set[_Key] = set()
        self._turns: KeyedTurns[_Key] = KeyedTurns()

    def record(self, destination: ImageDestination, digest: Digest) -> None:
        """Remember that ``destination`` holds the manifest ``digest`` (pushed or found)."""
        self._done.add((destination.registry, destination.repository, digest))

    async def push_once(
        self,
        destination: ImageDestination,
        digest: Digest,
        push: Callable[[], Awaitable[None]],
    ) -> bool:
        """Run ``push`` unless this run already put ``digest`` into ``destination``.

        Returns True when this call pushed. A caller arriving while another
        pushes the same manifest waits for it; when that push fails, the
        waiter pushes on its own (its error is then its own to report).
        """
        key = (destination.registry, destination.repository, digest)
        if not await self._turns.claim(key, lambda: key in self._done):
            return False
        try:
            await push()
        finally:
            self._turns.release(key)
        self._done.add(key)
        return True
