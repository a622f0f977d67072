"""Progress display for copies: bars on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

    from imageferry.copy import ImageResult

__all__ = ["LogLines", "ProgressBars", "make_progress"]


class ProgressBars:
    """Rich bars: one per image in flight, and a total with bytes, rate and ETA."""

    def __init__(self, console: Console) -> None:
        # rich is loaded only to draw bars: a copy writing to a pipe starts sooner.
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}", justify="left"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._total = self._progress.add_task("[bold]total", total=0)
        self._tasks: dict[str, TaskID] = {}
        self._planned: dict[str, int] = {}
        # Bytes sent per image, kept here: rich's ``Progress.tasks`` is a list
        # whose positions shift as finished images' bars are removed.
        self._sent: dict[str, int] = {}

    def __enter__(self) -> ProgressBars:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def image_started(self, key: str, source: str, destination: str) -> None:
        self._tasks[key] = self._progress.add_task(_short(source), total=None)

    def image_planned(self, key: str, total_bytes: int) -> None:
        self._planned[key] = total_bytes
        self._progress.update(self._tasks[key], total=total_bytes)
        self._progress.update(self._total, total=sum(self._planned.values()))

    def bytes_transferred(self, key: str, n: int) -> None:
        self._sent[key] = self._sent.get(key, 0) + n
        self._progress.advance(self._tasks[key], n)
        self._progress.advance(self._total, n)

    def image_finished(self, key: str, result: ImageResult) -> None:
        task = self._tasks.pop(key, None)
        if task is None:
            return
        # Reused and skipped bytes count as done: the bar shows the image complete.
        remaining = self._planned.get(key, 0) - self._sent.pop(key, 0)
        if remaining > 0:
            self._progress.advance(self._total, remaining)
        self._progress.remove_task(task)
        mark = {"copied": "[green]copied", "skipped": "[cyan]skipped", "failed": "[red]failed"}
        detail = result.digest or ""
        if result.error:
            detail = result.error
        self._progress.console.print(
            f"{mark[result.status]}[/] {result.source} -> {result.destination} {detail}",
            highlight=False,
            soft_wrap=True,
        )


class LogLines:
    """One line per event, for logs and pipes."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._started: dict[str, float] = {}

    def __enter__(self) -> LogLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stream.flush()

    def _line(self, text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {text}", file=self._stream, flush=True)

    def image_started(self, key: str, source: str, destination: str) -> None:
        self._started[key] = time.monotonic()
        self._line(f"start {source} -> {destination}")

    def image_planned(self, key: str, total_bytes: int) -> None:
        return None

    def bytes_transferred(self, key: str, n: int) -> None:
        return None

    def image_finished(self, key: str, result: ImageResult) -> None:
        if result.status == "failed":
            self._line(f"failed {result.source}: {result.error}")
        else:
            self._line(
                f"{result.status} {result.source} -> {result.destination} {result.digest} "
                f"({result.bytes_transferred} bytes sent, {result.bytes_reused} reused, "
                f"{result.seconds:.2f}s)"
            )


def _short(reference: str, width: int = 48) -> str:
    return reference if len(reference) <= width else "…" + reference[-(width - 1) :]


def make_progress(quiet: bool) -> ProgressBars | LogLines | None:
    """Bars on a terminal, log lines on stderr otherwise, nothing when quiet."""
    if quiet:
        return None
    if sys.stderr.isatty():
        from rich.console import Console

        return ProgressBars(Console(stderr=True))
    return LogLines(sys.stderr)
