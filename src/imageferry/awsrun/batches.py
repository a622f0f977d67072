"""A run's images in batches: one Fargate task copies one batch.

Images of one source repository stay together (they share layers, so one
engine's blob ledger mounts or skips them), and small repositories share a
batch up to :data:`BATCH_IMAGES`; a larger repository is split. Only the batch
files' keys pass through Step Functions (``batches.json``).

A batch file: ``{"run": RUN_ID, "images": [{"source": ..., "destination": ...}]}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any

from imageferry.errors import ConfigError, InvalidReference
from imageferry.reference import Reference
from imageferry.tasks.selection import ImagePair

__all__ = [
    "BATCH_IMAGES",
    "batch_key",
    "batches_index_key",
    "batches_of",
    "read_batch",
    "write_batch",
]

#: Images per batch at most: a Fargate task of a few minutes for small images.
BATCH_IMAGES = 200


def batches_index_key(run_id: str) -> str:
    """Where the state machine's map reads the run's batches."""
    return f"runs/{run_id}/batches.json"


def batch_key(run_id: str, number: int) -> str:
    return f"runs/{run_id}/batches/{number:05d}.json"


def batches_of(pairs: Sequence[ImagePair], cap: int = BATCH_IMAGES) -> list[list[ImagePair]]:
    """``pairs`` grouped by source repository, at most ``cap`` to a batch."""
    batches: list[list[ImagePair]] = []
    current: list[ImagePair] = []
    ordered = sorted(pairs, key=lambda p: p.source.name)
    for _, group in groupby(ordered, key=lambda p: p.source.name):
        images = list(group)
        if current and len(current) + len(images) > cap:
            batches.append(current)
            current = []
        while len(images) > cap:
            batches.append(images[:cap])
            images = images[cap:]
        current += images
        if len(current) >= cap:
            batches.append(current)
            current = []
    if current:
        batches.append(current)
    return batches


def write_batch(run_id: str, pairs: Sequence[ImagePair]) -> dict[str, Any]:
    return {
        "run": run_id,
        "images": [{"source": str(p.source), "destination": str(p.destination)} for p in pairs],
    }


def read_batch(document: Any, key: str) -> list[ImagePair]:
    """The pairs of a batch file (``key`` names it in errors)."""
    try:
        images = document["images"]
        return [
            ImagePair(Reference.parse(i["source"]), Reference.parse(i["destination"]))
            for i in images
        ]
    except (KeyError, TypeError, ValueError, InvalidReference) as e:
        raise ConfigError(f"batch file {key} is not one ferry aws plan wrote ({e})") from None
