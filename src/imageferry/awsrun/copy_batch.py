"""``ferry aws copy-batch``: copy one batch of a run, one table row per image.

The copy is ``ferry task``'s: the same connections (credentials, ECR
repository creation), the same engine with per-image retries
(:func:`imageferry.tasks.execution.copy_units`) and the same referrer walk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from imageferry.awsrun.batches import read_batch
from imageferry.awsrun.environment import RunEnvironment
from imageferry.awsrun.rows import Counts, RowRecorder
from imageferry.awsrun.stopping import StopGate
from imageferry.awsrun.storage import RunStorage
from imageferry.copy import ImageResult
from imageferry.copy.referrer_index import indexer
from imageferry.copy.referrers import referrer_options, walk_referrers
from imageferry.executor.base import WorkUnit
from imageferry.reference import Reference
from imageferry.secrets.base import SecretStore
from imageferry.settings import Settings
from imageferry.store.results import UnitResult
from imageferry.store.status import ImageStatus
from imageferry.tasks.connections import RunConnections, open_connections
from imageferry.tasks.execution import copy_options, copy_units, ensure_repositories

__all__ = ["BatchOutcome", "copy_batch"]

Pair = tuple[Reference, Reference]


@dataclass(frozen=True)
class BatchOutcome:
    images: int
    counts: Counts
    stopped: bool


def _failed(recorder: RowRecorder, source: str, destination: str, error: str) -> None:
    recorder.result(UnitResult(source, destination, ImageStatus.FAILED, attempts=1, error=error))


async def copy_batch(
    env: RunEnvironment,
    storage: RunStorage,
    settings: Settings,
    secrets: SecretStore | None,
    gate: StopGate,
    say: Callable[[str], None],
    *,
    retry_delay: float = 2.0,
) -> BatchOutcome:
    pairs = read_batch(storage.get_json(env.batch_key), env.batch_key)
    say(f"INFO batch {env.batch_key}: {len(pairs)} image(s)")
    recorder = RowRecorder(env.run_id, storage.put_rows, say)
    gate.on_request(recorder.urgent)
    conns = await open_connections(env.spec, settings=settings, secrets=secrets)
    try:
        conns.repository = gate.guard(conns.repository)
        broken = await ensure_repositories(recorder, conns, pairs)
        units: list[WorkUnit] = []
        refs: list[Pair] = []
        for pair in pairs:
            source, destination = str(pair.source), str(pair.destination)
            problem = broken.get(pair.destination.repository)
            if problem is not None:
                _failed(recorder, source, destination, problem)
                continue
            units.append(WorkUnit(env.run_id, source, destination))
            refs.append((pair.source, pair.destination))
        options = copy_options(conns.spec)
        results = await copy_units(conns, recorder, units, refs, options, retry_delay)
        if conns.spec.copyReferrers and not gate.requested:
            await _referrers(env, conns, recorder, refs, results, retry_delay)
    finally:
        await conns.aclose()
        recorder.flush()
    return BatchOutcome(len(pairs), recorder.counts, gate.requested)


async def _referrers(
    env: RunEnvironment,
    conns: RunConnections,
    recorder: RowRecorder,
    pairs: list[Pair],
    results: list[ImageResult],
    retry_delay: float,
) -> None:
    """``copyReferrers``: each referrer found is one more image of the batch."""
    options = referrer_options(copy_options(conns.spec))

    async def copy(found: Sequence[Pair]) -> list[ImageResult]:
        units = [WorkUnit(env.run_id, str(src), str(dst)) for src, dst in found]
        recorder.log("INFO", f"{len(units)} referrer(s) found")
        return await copy_units(conns, recorder, units, list(found), options, retry_delay)

    def failed(pair: Pair, error: str) -> ImageResult:
        source = f"referrers of {pair[0]}"
        _failed(recorder, source, str(pair[1]), error)
        return ImageResult(source, str(pair[1]), None, "failed", error=error)

    await walk_referrers(
        pairs, results, conns.client.repository, copy, failed, indexer(conns.client.repository)
    )
