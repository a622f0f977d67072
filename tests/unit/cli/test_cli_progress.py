"""Progress bars on a terminal: images finishing in any order, totals that add up."""

from __future__ import annotations

import io

from rich.console import Console

from imageferry.cli.progress import ProgressBars
from imageferry.copy import ImageResult


def result(name: str, status: str = "copied") -> ImageResult:
    return ImageResult(f"src/{name}", f"dst/{name}", "sha256:" + "a" * 64, status)  # type: ignore[arg-type]


def test_images_finishing_out_of_order_complete_the_total() -> None:
    out = io.StringIO()
    bars = ProgressBars(Console(file=out, force_terminal=True, width=120))
    with bars:
        for name, size in (("a", 100), ("b", 200), ("c", 300)):
            bars.image_started(name, f"src/{name}", f"dst/{name}")
            bars.image_planned(name, size)
        bars.bytes_transferred("b", 50)  # b sends part, reuses the rest
        bars.image_finished("a", result("a", "skipped"))
        # Bars of finished images are removed; later ones must still be found.
        bars.image_finished("c", result("c"))
        bars.image_finished("b", result("b"))
        total = bars._progress.tasks[0]
    assert total.total == 600
    assert total.completed == 600
    text = out.getvalue()
    assert "skipped" in text and text.count("copied") == 2
