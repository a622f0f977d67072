"""Server-side SVG charts: the series computed from results, and the drawing."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from imageferry.web.charts import Finished, Series, bar_chart, human_bytes, line_chart, run_series

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _at(seconds: float, status: str = "copied", size: int = 0) -> Finished:
    return Finished(at=T0 + timedelta(seconds=seconds), status=status, bytes_transferred=size)


def test_series_are_cumulative_in_time_order_whatever_the_input_order() -> None:
    charts = run_series(T0, [_at(20, "failed"), _at(10, size=100), _at(30, size=50)])
    assert charts.images_done.points == ((0, 0), (10, 1), (20, 2), (30, 3))
    assert charts.bytes_transferred.points == ((0, 0), (10, 100), (20, 100), (30, 150))
    assert charts.failures.points == ((0, 0), (10, 0), (20, 1), (30, 1))


def test_throughput_buckets_add_up_to_the_bytes_sent() -> None:
    results = [_at(s, size=1000) for s in (1, 2, 50, 119)]
    charts = run_series(T0, results, buckets=12)
    width = charts.throughput.points[1][0] - charts.throughput.points[0][0]
    assert sum(rate * width for _, rate in charts.throughput.points) == 4000


def test_empty_run_has_flat_series_and_no_throughput() -> None:
    charts = run_series(T0, [])
    assert charts.images_done.points == ((0, 0),)
    assert charts.throughput.points == ()


def test_charts_are_well_formed_svg_with_a_readable_summary() -> None:
    line = line_chart(Series("Bytes transferred", ((0, 0), (5, 2048)), "bytes"))
    svg = ET.fromstring(line)
    assert svg.tag.endswith("svg")
    assert svg.get("aria-label") == "Bytes transferred: 2.0 KiB"
    polyline = svg.find("{http://www.w3.org/2000/svg}polyline")
    assert polyline is not None and len(polyline.get("points", "").split()) == 2
    bars = ET.fromstring(bar_chart(Series("Throughput", ((0, 10), (10, 30)), "bytes/s")))
    assert len(bars.findall("{http://www.w3.org/2000/svg}rect")) == 2


def test_titles_are_escaped() -> None:
    svg = line_chart(Series("<script>", ((0, 1),)))
    assert "<script>" not in svg
    ET.fromstring(svg)


def test_human_bytes() -> None:
    assert human_bytes(512) == "512 B"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(5 * 1024**3) == "5.0 GiB"
