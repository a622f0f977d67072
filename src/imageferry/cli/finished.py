"""The progress sink behind ``ferry copy -o json``: it keeps each image's last result.

Apart from :mod:`imageferry.cli.copy` so that ``ferry copy --help`` does not load
the copy engine this sink's base class lives in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imageferry.copy.events import NullSink

if TYPE_CHECKING:
    from imageferry.copy import ImageResult

__all__ = ["FinishedSink"]


class FinishedSink(NullSink):
    """Each image's last result, by (source, destination): what Ctrl-C still reports."""

    def __init__(self) -> None:
        self.results: dict[tuple[str, str], ImageResult] = {}

    def image_finished(self, key: str, result: ImageResult) -> None:
        self.results[(result.source, result.destination)] = result
