"""Progress events: how the engine tells a CLI progress bar or a task store what it does.

Calls are synchronous and must be cheap: they run on the event loop between
chunks. ``key`` identifies one image copy within a run.
"""

from __future__ import annotations

from typing import Protocol

from imageferry.copy.result import ImageResult

__all__ = ["NullSink", "ProgressSink"]


class ProgressSink(Protocol):
    def image_started(self, key: str, source: str, destination: str) -> None:
        """The copy of one image began."""

    def image_planned(self, key: str, total_bytes: int) -> None:
        """The blob bytes the image needs are known (before reuse is checked)."""

    def bytes_transferred(self, key: str, n: int) -> None:
        """``n`` more bytes were streamed. Negative when a failed attempt is rewound."""

    def image_finished(self, key: str, result: ImageResult) -> None:
        """The image is done: copied, skipped or failed."""


class NullSink:
    """A sink that ignores every event."""

    def image_started(self, key: str, source: str, destination: str) -> None:
        pass

    def image_planned(self, key: str, total_bytes: int) -> None:
        pass

    def bytes_transferred(self, key: str, n: int) -> None:
        pass

    def image_finished(self, key: str, result: ImageResult) -> None:
        pass
