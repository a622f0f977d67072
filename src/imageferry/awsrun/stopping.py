"""Stopping a batch on SIGTERM: images in flight finish, no other starts.

ECS sends SIGTERM when the execution is stopped and kills the container
``StopTimeout`` (120 s) later. The copy engine opens an image's repositories
when the image starts, so a repository factory that refuses once a stop is
requested keeps every image not yet started from starting (each becomes a
failed result saying so), while those in flight run to their end, manifest
and tag included. From then on each image's row is written as it finishes,
not in groups, so a kill after ``StopTimeout`` loses no finished image's row.
A tag is pushed last, so even a kill leaves no half tag.
"""

from __future__ import annotations

from collections.abc import Callable

from imageferry.copy import RepositoryFactory
from imageferry.copy.engine import Repository
from imageferry.errors import FerryError

__all__ = ["STOPPED", "StopGate", "Stopped"]

STOPPED = "stopped (SIGTERM) before this image started; nothing was written for it"


class Stopped(FerryError):
    """The batch was told to stop before this image started."""


class StopGate:
    """Set by the SIGTERM handler; guards the engine's repository factory."""

    def __init__(self) -> None:
        self.requested = False
        self._listeners: list[Callable[[], None]] = []

    def on_request(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` when a stop is requested (at once if it was)."""
        self._listeners.append(listener)
        if self.requested:
            listener()

    def request(self) -> None:
        if self.requested:
            return
        self.requested = True
        for listener in self._listeners:
            listener()

    def guard(self, factory: RepositoryFactory) -> RepositoryFactory:
        def repository(registry: str, name: str) -> Repository:
            if self.requested:
                raise Stopped(STOPPED)
            return factory(registry, name)

        return repository
