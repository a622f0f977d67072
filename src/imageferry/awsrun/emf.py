"""CloudWatch embedded metric format: one JSON line on stdout per report.

The awslogs driver sends stdout to the stack's log group, where CloudWatch
extracts the metrics; no PutMetricData call (or permission) is needed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

__all__ = ["UNITS", "metric_line"]

#: Units of the metrics imageferry reports.
UNITS = {
    "ImagesCopied": "Count",
    "ImagesSkipped": "Count",
    "ImagesFailed": "Count",
    "BytesCopied": "Bytes",
    "RunsFailed": "Count",
}


def metric_line(
    namespace: str, task: str, values: Mapping[str, int], now: float | None = None
) -> str:
    """An EMF document with ``values`` under ``namespace``, dimension ``Task``."""
    stamp = int((time.time() if now is None else now) * 1000)
    document: dict[str, object] = {
        "_aws": {
            "Timestamp": stamp,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [["Task"]],
                    "Metrics": [{"Name": n, "Unit": UNITS.get(n, "Count")} for n in values],
                }
            ],
        },
        "Task": task,
    }
    document.update(values)
    return json.dumps(document, separators=(",", ":"))
