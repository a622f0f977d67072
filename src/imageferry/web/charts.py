"""The task detail's charts, drawn on the server as inline SVG.

Server-side SVG keeps the console free of chart libraries and of anything
fetched at run time, and it renders the same in every
browser and in a screenshot. Two pure steps, each tested without I/O:

1. :func:`run_series` turns a run's finished per-image results into the four
   series the console shows: images done over time, bytes transferred
   (cumulative), throughput (bytes per second per time bucket) and failures.
2. :func:`line_chart` / :func:`bar_chart` draw one series as an SVG string.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "Finished",
    "RunCharts",
    "Series",
    "bar_chart",
    "human_bytes",
    "line_chart",
    "run_series",
]

_W, _H = 360, 160
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 48, 10, 22, 24


@dataclass(frozen=True)
class Series:
    """Points ``(x, y)`` with x in seconds since the run started."""

    name: str
    points: tuple[tuple[float, float], ...]
    unit: str = ""


@dataclass(frozen=True)
class Finished:
    """What a chart needs of one finished image result."""

    at: datetime
    status: str
    bytes_transferred: int


@dataclass(frozen=True)
class RunCharts:
    images_done: Series
    bytes_transferred: Series
    throughput: Series
    failures: Series


def human_bytes(n: float) -> str:
    """``1536`` → ``1.5 KiB``: binary units, as registries and ``ls -h`` count."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _fmt(value: float, unit: str) -> str:
    if unit == "bytes":
        return human_bytes(value)
    if unit == "bytes/s":
        return human_bytes(value) + "/s"
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def run_series(started_at: datetime, results: Iterable[Finished], buckets: int = 12) -> RunCharts:
    """The four series of one run, from its finished results in any order."""
    done = sorted(results, key=lambda r: r.at)
    failed = 0
    total_bytes = 0
    images: list[tuple[float, float]] = [(0.0, 0.0)]
    sent: list[tuple[float, float]] = [(0.0, 0.0)]
    fails: list[tuple[float, float]] = [(0.0, 0.0)]
    for count, r in enumerate(done, start=1):
        t = max(0.0, (r.at - started_at).total_seconds())
        total_bytes += r.bytes_transferred
        images.append((t, float(count)))
        sent.append((t, float(total_bytes)))
        if r.status == "failed":
            failed += 1
        fails.append((t, float(failed)))
    span = images[-1][0] if len(images) > 1 else 0.0
    throughput: list[tuple[float, float]] = []
    if done:
        width = max(span / buckets, 1.0)
        per_bucket = [0] * (int(span // width) + 1)
        for r in done:
            t = max(0.0, (r.at - started_at).total_seconds())
            per_bucket[min(int(t // width), len(per_bucket) - 1)] += r.bytes_transferred
        throughput = [(i * width, b / width) for i, b in enumerate(per_bucket)]
    return RunCharts(
        images_done=Series("Images done", tuple(images), "images"),
        bytes_transferred=Series("Bytes transferred", tuple(sent), "bytes"),
        throughput=Series("Throughput", tuple(throughput), "bytes/s"),
        failures=Series("Failures", tuple(fails), "images"),
    )


def _scale(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    max_x = max((p[0] for p in points), default=0.0) or 1.0
    max_y = max((p[1] for p in points), default=0.0) or 1.0
    return max_x, max_y


def _frame(series: Series, css_class: str, max_x: float, max_y: float, body: str) -> str:
    title = html.escape(series.name)
    last = series.points[-1][1] if series.points else 0.0
    summary = html.escape(f"{series.name}: {_fmt(last, series.unit)}")
    bottom = _H - _PAD_B
    return (
        f'<svg class="chart {css_class}" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-label="{summary}" data-series="{title}" data-points="{len(series.points)}" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f"<title>{summary}</title>"
        f'<text class="chart-title" x="{_PAD_L}" y="14">{title}</text>'
        f'<line class="axis" x1="{_PAD_L}" y1="{_PAD_T}" x2="{_PAD_L}" y2="{bottom}"/>'
        f'<line class="axis" x1="{_PAD_L}" y1="{bottom}" x2="{_W - _PAD_R}" y2="{bottom}"/>'
        f'<text class="tick" x="{_PAD_L - 4}" y="{_PAD_T + 4}" text-anchor="end">'
        f"{html.escape(_fmt(max_y, series.unit))}</text>"
        f'<text class="tick" x="{_PAD_L - 4}" y="{bottom}" text-anchor="end">0</text>'
        f'<text class="tick" x="{_W - _PAD_R}" y="{_H - 6}" text-anchor="end">'
        f"{_seconds(max_x)}</text>"
        f"{body}</svg>"
    )


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def _xy(x: float, y: float, max_x: float, max_y: float) -> tuple[float, float]:
    plot_w = _W - _PAD_L - _PAD_R
    plot_h = _H - _PAD_T - _PAD_B
    return _PAD_L + x / max_x * plot_w, _H - _PAD_B - y / max_y * plot_h


def line_chart(series: Series) -> str:
    """A step-free polyline of ``series``; an empty series draws only its axes."""
    max_x, max_y = _scale(series.points)
    coords = " ".join("{:.1f},{:.1f}".format(*_xy(x, y, max_x, max_y)) for x, y in series.points)
    body = f'<polyline class="line" fill="none" points="{coords}"/>' if coords else ""
    return _frame(series, "line-chart", max_x, max_y, body)


def bar_chart(series: Series) -> str:
    """One bar per point of ``series`` (used for throughput buckets)."""
    max_x, max_y = _scale(series.points)
    n = len(series.points)
    plot_w = _W - _PAD_L - _PAD_R
    bar_w = plot_w / max(n, 1) * 0.8
    bars = []
    for i, (_, y) in enumerate(series.points):
        x0 = _PAD_L + i * plot_w / max(n, 1)
        _, top = _xy(0.0, y, 1.0, max_y)
        height = _H - _PAD_B - top
        bars.append(
            f'<rect class="bar" x="{x0:.1f}" y="{top:.1f}" width="{bar_w:.1f}" '
            f'height="{height:.1f}"/>'
        )
    span_x = max_x + (series.points[1][0] - series.points[0][0] if n > 1 else 0.0)
    return _frame(series, "bar-chart", span_x, max_y, "".join(bars))
