"""One run of a transfer task, from the committed run row to its truthful end.

Steps: load the task, resolve its connections, select the images (notes go to
the run's log), record them as pending work units, create missing ECR
repositories, copy the units concurrently with one blob ledger, record the
units' results in batches as they finish (:mod:`imageferry.tasks.recording`),
then let the store compute the final status (ERROR when any image failed, with
the count) and send the alarm e-mail.

Stopping cancels the coroutine: in-flight uploads are abandoned and, since a
tag is always pushed last, nothing is left partially tagged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from imageferry import metrics
from imageferry.copy import CopyEngine, CopyOptions, ImageResult, PlannedImage
from imageferry.copy.referrer_index import indexer
from imageferry.copy.referrers import referrer_options, walk_referrers
from imageferry.errors import FerryError
from imageferry.executor.base import Dispatch, WorkUnit, make_batches
from imageferry.logfile import defect_line
from imageferry.reference import Reference
from imageferry.settings import Settings
from imageferry.store import Store
from imageferry.store.results import ImageUnit, LogLevel, UnitResult
from imageferry.store.status import ImageStatus, RunStatus
from imageferry.tasks.alarm_routing import why_no_alarm
from imageferry.tasks.connections import RunConnections, open_connections
from imageferry.tasks.outcome import run_outcome
from imageferry.tasks.params import ALL_TAGS, TaskSpec
from imageferry.tasks.push_match import pushed_selection
from imageferry.tasks.recording import RunRecorder
from imageferry.tasks.resume import copy_pending, final_outcomes
from imageferry.tasks.selection import ImagePair, Selection, select_images

if TYPE_CHECKING:
    from imageferry.alarms.base import Notifier
    from imageferry.secrets.base import SecretStore
    from imageferry.store.records import RunRecord

__all__ = [
    "RunDependencies",
    "UnitRecorder",
    "close_run",
    "copy_batch",
    "copy_units",
    "ensure_repositories",
    "execute_run",
    "missing_error",
    "plan_task",
]

Pair = tuple[Reference, Reference]

log = logging.getLogger(__name__)

#: Attempts per image (the reference: 3 attempts, backoff 2) for retryable failures.
IMAGE_ATTEMPTS = 3
HEARTBEAT_SECONDS = 10.0


@dataclass
class RunDependencies:
    """What a run needs from its surroundings (injected, never global)."""

    store: Store
    settings: Settings
    secrets: SecretStore | None = None
    notifier: Notifier | None = None
    #: Seconds before the second attempt of a failed image; doubles each time.
    retry_delay: float = 2.0
    executor_id: str = "local"
    #: Where this process writes its log, which holds the traceback of a defect.
    log_location: str = "the server log"


class UnitRecorder(Protocol):
    """Where a run's unit states and log lines go (:class:`RunRecorder`, or another sink)."""

    def result(self, result: UnitResult) -> None: ...

    def log(self, level: LogLevel, message: str) -> None: ...


class _RunSink:
    """ProgressSink that records each work unit's state through the run's recorder.

    The copy engine reports every *attempt* of an image (``image_started`` /
    ``image_finished``), before it decides on a retry. So a failed attempt is
    recorded as still running with a warning; the final failure, with the
    engine's attempt count, is recorded by :meth:`record_failures` once
    ``copy_many`` has returned. Successes are final when reported.
    """

    def __init__(self, recorder: UnitRecorder, units: Sequence[WorkUnit]) -> None:
        self._recorder = recorder
        self._units = units
        self._attempts: dict[str, int] = {}
        self._final: set[str] = set()

    def image_started(self, key: str, source: str, destination: str) -> None:
        unit = self._units[int(key)]
        self._attempts[key] = self._attempts.get(key, 0) + 1
        self._running(unit, self._attempts[key])

    def image_planned(self, key: str, total_bytes: int) -> None:
        return None

    def bytes_transferred(self, key: str, n: int) -> None:
        return None

    def image_finished(self, key: str, result: ImageResult) -> None:
        unit = self._units[int(key)]
        attempt = self._attempts.get(key, 1)
        if result.status == "failed":
            self._running(unit, attempt, result.error or "")
            self._recorder.log("WARNING", f"attempt {attempt} of {unit.source}: {result.error}")
            return
        self._record(unit, result, attempt)
        self._recorder.log(
            "INFO",
            f"{result.status} {unit.source} -> {unit.destination} {result.digest} "
            f"({result.bytes_transferred} bytes sent, {result.bytes_reused} reused, "
            f"{result.seconds:.2f}s, attempt {attempt})",
        )

    def record_failures(self, results: Sequence[ImageResult]) -> None:
        """The final word on images whose last attempt failed (results in unit order)."""
        for index, result in enumerate(results):
            if result.status != "failed":
                continue
            unit = self._units[index]
            attempts = max(result.attempts, self._attempts.get(str(index), 1))
            self._record(unit, result, attempts)
            self._recorder.log(
                "ERROR", f"failed {unit.source} after {attempts} attempt(s): {result.error}"
            )

    def release_unfinished(self) -> None:
        """Units started and not final (the batch was cancelled) go back to pending."""
        for key in self._attempts:
            unit = self._units[int(key)]
            if unit.key in self._final:
                continue
            self._recorder.result(
                UnitResult(unit.source, unit.destination, ImageStatus.PENDING, unit.key)
            )

    def _running(self, unit: WorkUnit, attempts: int, error: str = "") -> None:
        self._recorder.result(
            UnitResult(
                unit.source,
                unit.destination,
                ImageStatus.RUNNING,
                unit.key,
                attempts=attempts,
                error=error,
            )
        )

    def _record(self, unit: WorkUnit, result: ImageResult, attempts: int) -> None:
        self._final.add(unit.key)
        metrics.record_image(result.status, result.bytes_transferred, result.bytes_reused)
        self._recorder.result(
            UnitResult(
                unit.source,
                unit.destination,
                ImageStatus(result.status),
                unit.key,
                digest=result.digest or "",
                bytes_transferred=result.bytes_transferred,
                bytes_reused=result.bytes_reused,
                seconds=result.seconds,
                attempts=attempts,
                error=result.error or "",
            )
        )


def copy_options(spec: TaskSpec) -> CopyOptions:
    return CopyOptions(multi_arch=spec.multiArch, platforms=spec.platform_list)


async def _select(spec: TaskSpec, conns: RunConnections, images: Sequence[str] = ()) -> Selection:
    # conns.spec has blank account ids filled in (per side, through STS).
    if images:
        return pushed_selection(conns.spec, images, account_id=conns.account_id)
    return await select_images(
        conns.spec, conns.lister, account_id=conns.account_id, lister_for=conns.lister_for
    )


def missing_error(pair: ImagePair) -> str:
    repository = pair.source.with_tag(None)
    return (
        f"{repository.name} has no tags to copy ({ALL_TAGS}); check the repository name "
        "in srcImageList"
    )


async def ensure_repositories(
    recorder: UnitRecorder, conns: RunConnections, pairs: Sequence[ImagePair]
) -> dict[str, str]:
    """Create missing destination repositories; returns repository -> error."""
    failures: dict[str, str] = {}
    if conns.ensure_repository is None:
        return failures
    for repository in sorted({p.destination.repository for p in pairs}):
        try:
            await conns.ensure_repository(repository)
        except FerryError as e:
            failures[repository] = str(e)
            recorder.log("ERROR", f"creating repository {repository}: {e}")
    return failures


async def _heartbeat(store: Store, run_id: str, executor_id: str) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        await asyncio.to_thread(store.heartbeat, run_id, executor_id)


async def execute_run(
    run_id: str, deps: RunDependencies, dispatch: Dispatch | None = None
) -> RunRecord:
    """Execute a committed run to its end; returns the run (finished, unless dispatched).

    Without ``dispatch`` the run's units are copied here, as one batch. With
    it (a distributed executor) the run is planned here and its batches are
    handed to ``dispatch``; the workers' last batch ends the run.
    """
    store = deps.store
    run = store.get_run(run_id)
    task = store.get_task(run.task_id)
    verb = "resumed" if run.status is RunStatus.IN_PROGRESS else "started"
    store.set_run_status(run_id, RunStatus.IN_PROGRESS)
    store.append_log(run_id, "INFO", f"run {run.number} of task {task.id} {verb} ({run.trigger})")
    beat = asyncio.create_task(_heartbeat(store, run_id, deps.executor_id))
    error = ""
    handed_over = False
    try:
        error = await _copy_all(run_id, task.parameters, deps, run.images, dispatch)
        handed_over = dispatch is not None and not error
    except asyncio.CancelledError:
        # Whatever happens here, the run must still reach finish_run below.
        try:
            store.append_log(run_id, "WARNING", "stopped: in-flight copies abandoned, no tag moved")
            if store.get_run(run_id).status is not RunStatus.STOPPING:
                store.request_stop(run_id)
        except Exception:
            log.exception("recording the stop of run %s", run_id)
    except FerryError as e:
        # Said once, by the closing line below.
        error = str(e)
    except Exception as e:  # a defect: the traceback goes to our log, one line to the user
        log.exception("run %s of task %s failed with an internal error", run_id, task.id)
        error = defect_line(e, deps.log_location)
    finally:
        beat.cancel()
    if handed_over:
        # Nothing to copy (or all failed before copying) ends here; else the last batch does.
        done = store.finish_if_complete(run_id)
        if done is None:
            return store.get_run(run_id)
        finished = done
    else:
        finished = store.finish_run(run_id, error=error)
    await close_run(finished, deps)
    return finished


async def close_run(finished: RunRecord, deps: RunDependencies) -> None:
    """What follows a run's end, once, by whoever ended it: metrics, last line, alarm."""
    metrics.record_run(finished.status, finished.seconds)
    deps.store.append_log(
        finished.id,
        "ERROR" if finished.status is RunStatus.ERROR else "INFO",
        f"run {run_outcome(finished)}",
    )
    await _alarm(finished, deps)


def _fail_unit(recorder: RunRecorder, unit: WorkUnit, error: str) -> None:
    """Record a unit that failed before any copy was attempted (one attempt)."""
    metrics.record_image("failed")
    recorder.result(
        UnitResult(
            unit.source, unit.destination, ImageStatus.FAILED, unit.key, attempts=1, error=error
        )
    )


async def _copy_all(
    run_id: str,
    parameters: dict[str, str] | object,
    deps: RunDependencies,
    images: Sequence[str] = (),
    dispatch: Dispatch | None = None,
) -> str:
    # Until this returns, results and log lines go through the recorder, in
    # batches and in order; whatever waits is written when it returns or raises.
    recorder = RunRecorder(deps.store, run_id)
    flusher = asyncio.create_task(recorder.flush_periodically())
    try:
        spec = TaskSpec.from_parameters(parameters)  # type: ignore[arg-type]
        conns = await open_connections(spec, settings=deps.settings, secrets=deps.secrets)
        try:
            units, final = await _plan(run_id, spec, conns, deps, recorder, images)
            if dispatch is None:
                await copy_batch(run_id, units, final, deps, recorder, conns)
            else:
                todo = [u for u in units if u.key not in final]
                recorder.flush()  # the plan is in the store before any worker looks
                await dispatch(run_id, make_batches(todo, deps.settings.batch_size))
            return ""
        finally:
            await conns.aclose()
    finally:
        flusher.cancel()
        recorder.flush()


async def _plan(
    run_id: str,
    spec: TaskSpec,
    conns: RunConnections,
    deps: RunDependencies,
    recorder: RunRecorder,
    images: Sequence[str] = (),
) -> tuple[list[WorkUnit], dict[str, ImageResult]]:
    """Select the images, record them as pending units, create missing repositories.

    Returns the units to copy (those whose repository could be created) and
    the outcomes of units already final (a run resumed after a restart).
    """
    store = deps.store
    for name in ("srcAccountId", "destAccountId"):
        given, used = getattr(spec, name), getattr(conns.spec, name)
        if used != given:
            recorder.log("INFO", f"{name} is blank: using account {used} (STS)")
    selection = await _select(spec, conns, images)
    pairs = list(selection.pairs)
    for note in selection.notes:
        recorder.log("INFO", note)
    units = [WorkUnit(run_id, str(p.source), str(p.destination)) for p in pairs]
    missing = [WorkUnit(run_id, str(p.source), str(p.destination)) for p in selection.missing]
    store.add_pending_images(
        run_id, [ImageUnit(u.source, u.destination, u.key) for u in units + missing]
    )
    store.set_images_total(run_id, len(units) + len(missing))
    recorder.log("INFO", f"{len(units)} image(s) selected")
    # Named by the user but matching nothing: a failure, not a quiet no-op.
    for unit, pair in zip(missing, selection.missing, strict=True):
        error = missing_error(pair)
        _fail_unit(recorder, unit, error)
        recorder.log("ERROR", f"failed {unit.source}: {error}")
    # A run resumed after a restart has units already final: they stay as recorded.
    final = final_outcomes(store, run_id)
    if final:
        recorder.log("INFO", f"{len(final)} image(s) already final: not copied again")
    failed_repos = await ensure_repositories(recorder, conns, pairs)
    runnable: list[WorkUnit] = []
    for unit, pair in zip(units, pairs, strict=True):
        problem = failed_repos.get(pair.destination.repository)
        if problem is None:
            runnable.append(unit)
        elif unit.key not in final:
            _fail_unit(recorder, unit, problem)
    return runnable, final


async def copy_batch(
    run_id: str,
    units: Sequence[WorkUnit],
    final: dict[str, ImageResult],
    deps: RunDependencies,
    recorder: RunRecorder,
    conns: RunConnections,
) -> list[ImageResult]:
    """Copy a batch of a run's units with one engine (one blob ledger): the work unit
    implementation of every executor.

    Units in ``final`` are not copied again (their recorded outcome stands in);
    each copied unit's states go to ``recorder``; with ``copyReferrers`` each
    referrer found becomes one more unit of the run. Cancelling it abandons
    in-flight uploads: a tag is pushed last, so nothing is left half tagged.
    """
    spec = conns.spec
    refs = [(Reference.parse(u.source), Reference.parse(u.destination)) for u in units]

    async def copy(todo: list[WorkUnit], found: list[Pair]) -> list[ImageResult]:
        return await copy_units(conns, recorder, todo, found, copy_options(spec), deps.retry_delay)

    results = await copy_pending(units, refs, final, copy)
    if spec.copyReferrers:
        await _copy_referrers(run_id, deps, recorder, conns, refs, results, final)
    return results


async def copy_units(
    conns: RunConnections,
    recorder: UnitRecorder,
    units: Sequence[WorkUnit],
    pairs: Sequence[Pair],
    options: CopyOptions,
    retry_delay: float,
) -> list[ImageResult]:
    """Copy ``pairs`` (one per unit) with the run's engine and per-image retries.

    Each unit's state goes to ``recorder`` as the engine reports it: running
    per attempt, then its final outcome. Results come back in unit order.
    Cancelled, the units started and not final go back to pending.
    """
    sink = _RunSink(recorder, units)
    engine = CopyEngine(
        conns.repository,
        max_images=conns.spec.concurrency,
        events=sink,
        image_attempts=IMAGE_ATTEMPTS,
        retry_delay=retry_delay,
    )
    try:
        done = await engine.copy_many(pairs, options)
    except asyncio.CancelledError:
        sink.release_unfinished()
        raise
    sink.record_failures(done)
    return done


async def _copy_referrers(
    run_id: str,
    deps: RunDependencies,
    recorder: RunRecorder,
    conns: RunConnections,
    pairs: Sequence[tuple[Reference, Reference]],
    results: Sequence[ImageResult],
    final: dict[str, ImageResult],
) -> None:
    """``copyReferrers``: each referrer found becomes one more unit of the run."""
    store = deps.store
    options = referrer_options(copy_options(conns.spec))

    async def run_units(todo: list[WorkUnit], found: list[Pair]) -> list[ImageResult]:
        return await copy_units(conns, recorder, todo, found, options, deps.retry_delay)

    async def copy(found: Sequence[Pair]) -> list[ImageResult]:
        units = [WorkUnit(run_id, str(src), str(dst)) for src, dst in found]
        store.add_pending_images(run_id, [ImageUnit(u.source, u.destination, u.key) for u in units])
        recorder.log("INFO", f"{len(units)} referrer(s) found")
        return await copy_pending(units, found, final, run_units)

    def failed(pair: tuple[Reference, Reference], error: str) -> ImageResult:
        # One more unit of the run, failed: the run reports it like any other.
        unit = WorkUnit(run_id, f"referrers of {pair[0]}", str(pair[1]))
        store.add_pending_images(run_id, [ImageUnit(unit.source, unit.destination, unit.key)])
        result = ImageResult(unit.source, unit.destination, None, "failed", error=error)
        _RunSink(recorder, [unit]).record_failures([result])
        return result

    await walk_referrers(
        pairs, results, conns.client.repository, copy, failed, indexer(conns.client.repository)
    )


async def _alarm(run: RunRecord, deps: RunDependencies) -> None:
    """Send the run's alarm if it deserves one; the log says where it went, or why not."""
    store = deps.store
    task = store.get_task(run.task_id)
    recipient = task.parameters.get("alarmEmail", "")
    notifier = deps.notifier
    why_not = why_no_alarm(run.status, recipient, notifier is not None)
    if why_not is not None or notifier is None:
        store.append_log(run.id, "INFO", f"no alarm sent: {why_not}")
        return
    from imageferry.alarms.base import Alarm

    failed = [
        (r.source, r.error)
        for r in store.list_image_results(run.id, status=ImageStatus.FAILED, limit=1000)
    ]
    if not failed and run.error:
        failed = [("(run)", run.error)]
    alarm = Alarm(
        task_id=task.id,
        task_name=task.name or task.id,
        run_id=run.id,
        status=str(run.status),
        recipient=recipient,
        failed=failed,
        total=run.images_total,
        copied=run.images_copied,
        skipped=run.images_skipped,
    )
    try:
        await asyncio.to_thread(notifier.send, alarm)
        store.append_log(run.id, "INFO", f"alarm sent to {recipient} by {notifier.channel}")
    except FerryError as e:
        # The notifier's message names the run, the recipient and the channel.
        store.append_log(run.id, "ERROR", str(e))


async def plan_task(
    parameters: dict[str, str], settings: Settings, secrets: SecretStore | None
) -> tuple[list[PlannedImage], list[str]]:
    """What a run would copy now (reads only): planned images and selection notes."""
    spec = TaskSpec.from_parameters(parameters)
    conns = await open_connections(spec, settings=settings, secrets=secrets)
    try:
        selection = await _select(spec, conns)
        engine = CopyEngine(conns.repository, max_images=spec.concurrency)
        refs: list[tuple[Reference, Reference]] = [
            (p.source, p.destination) for p in selection.pairs
        ]
        planned = await engine.dry_run(refs, copy_options(spec))
        planned += [
            PlannedImage(str(p.source), str(p.destination), None, "failed", error=missing_error(p))
            for p in selection.missing
        ]
        return planned, list(selection.notes)
    finally:
        await conns.aclose()
