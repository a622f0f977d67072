"""One batch of a run on a worker: the units a distributed executor hands out.

A worker gets ``(run_id, unit_keys, batch)``, loads the units still pending
from the shared store (a unit already final is not copied again: a batch
delivered twice is a no-op), copies them with :func:`copy_batch` (the same
work unit implementation the embedded executor runs), and records their
results by unit key. While it copies it watches the run: once a stop is asked
for, the batch is cancelled (a tag is pushed last, so nothing is left half
tagged) and its unfinished units go back to pending.

After the batch the worker asks the store whether the run is complete; the
one whose call finishes it (under the run row's lock) sends the alarm.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from imageferry.errors import FerryError
from imageferry.executor.base import WorkUnit
from imageferry.store.errors import RunFinished, StoreError
from imageferry.store.records import RunRecord
from imageferry.store.results import UnitResult
from imageferry.store.status import ImageStatus, RunStatus
from imageferry.tasks.connections import open_connections
from imageferry.tasks.execution import RunDependencies, close_run, copy_batch
from imageferry.tasks.params import TaskSpec
from imageferry.tasks.recording import RunRecorder

__all__ = ["STOP_POLL_SECONDS", "run_batch"]

log = logging.getLogger(__name__)

#: How often a worker looks whether the run it copies for was asked to stop.
STOP_POLL_SECONDS = 0.5


async def run_batch(
    run_id: str,
    unit_keys: Sequence[str],
    batch: str,
    deps: RunDependencies,
    *,
    poll: float = STOP_POLL_SECONDS,
) -> RunRecord | None:
    """Copy the batch's unfinished units; the run if this call finished it, else None.

    Raises :class:`StoreUnavailable` when the store cannot be reached (the
    caller retries the whole batch later: it is idempotent).
    """
    store = deps.store
    run = store.get_run(run_id)
    if run.status is RunStatus.IN_PROGRESS:
        units = [
            WorkUnit(run_id, u.source, u.destination)
            for u in store.unfinished_units(run_id, unit_keys)
        ]
        if units:
            with contextlib.suppress(RunFinished):
                await _copy(run_id, units, batch, deps, poll)
    return await finish_if_complete(run_id, deps)


async def finish_if_complete(run_id: str, deps: RunDependencies) -> RunRecord | None:
    """End the run if nothing is left to do, and then close it (alarm, last line)."""
    finished = deps.store.finish_if_complete(run_id)
    if finished is not None:
        await close_run(finished, deps)
    return finished


async def _copy(
    run_id: str, units: list[WorkUnit], batch: str, deps: RunDependencies, poll: float
) -> None:
    store = deps.store
    run = store.get_run(run_id)
    spec = TaskSpec.from_parameters(store.get_task(run.task_id).parameters)
    recorder = RunRecorder(store, run_id)
    recorder.log("INFO", f"batch {batch}: {len(units)} image(s) on {deps.executor_id}")
    flusher = asyncio.create_task(recorder.flush_periodically())
    try:
        try:
            conns = await open_connections(spec, settings=deps.settings, secrets=deps.secrets)
        except StoreError:
            raise
        except FerryError as e:
            # The batch cannot start (e.g. a credential is gone): its units failed.
            _fail(recorder, units, batch, e)
            return
        try:
            copying = asyncio.create_task(copy_batch(run_id, units, {}, deps, recorder, conns))
            watching = asyncio.create_task(_stop_asked(deps, run_id, poll))
            await asyncio.wait({copying, watching}, return_when=asyncio.FIRST_COMPLETED)
            watching.cancel()
            if not copying.done():
                copying.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await copying
                recorder.log(
                    "WARNING", f"batch {batch} stopped: in-flight copies abandoned, no tag moved"
                )
                return
            try:
                copying.result()
            except StoreError:
                raise
            except FerryError as e:
                recorder.flush()
                left = store.unfinished_units(run_id, [u.key for u in units])
                _fail(recorder, [WorkUnit(run_id, u.source, u.destination) for u in left], batch, e)
        finally:
            await conns.aclose()
    finally:
        flusher.cancel()
        recorder.flush()


def _fail(recorder: RunRecorder, units: Sequence[WorkUnit], batch: str, error: Exception) -> None:
    for unit in units:
        recorder.result(
            UnitResult(
                unit.source,
                unit.destination,
                ImageStatus.FAILED,
                unit.key,
                attempts=1,
                error=str(error),
            )
        )
    recorder.log("ERROR", f"batch {batch}: {error}")


async def _stop_asked(deps: RunDependencies, run_id: str, poll: float) -> None:
    """Return once the run is no longer IN_PROGRESS (a stop was asked, or it ended)."""
    while True:
        await asyncio.sleep(poll)
        try:
            run = await asyncio.to_thread(deps.store.get_run, run_id)
        except StoreError as e:
            # The store is away for a moment: keep copying, ask again later.
            log.warning("reading run %s: %s", run_id, e)
            continue
        if run.status is not RunStatus.IN_PROGRESS:
            return
