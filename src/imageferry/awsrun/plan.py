"""``ferry aws plan``: list the images, select them as ``ferry task`` does, write the batches.

A push (``RUN_INPUT`` ``{"trigger": "push", ...}``) plans that image alone,
when the task's selection takes it. Entries of ``srcImageList`` that match no
image (``repo:ALL_TAGS`` of a repository without tags) are written to the
table as failed images at once, as ``ferry task`` reports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from imageferry.awsrun.batches import batch_key, batches_index_key, batches_of, write_batch
from imageferry.awsrun.environment import RunEnvironment
from imageferry.awsrun.rows import row_for
from imageferry.awsrun.storage import RunStorage
from imageferry.ecr.hosts import registry_host
from imageferry.errors import InvalidReference
from imageferry.secrets.base import SecretStore
from imageferry.settings import Settings
from imageferry.store.results import UnitResult
from imageferry.store.status import ImageStatus
from imageferry.tasks.connections import RunConnections, open_connections
from imageferry.tasks.execution import missing_error
from imageferry.tasks.push_match import pushed_selection
from imageferry.tasks.selection import Selection, select_images, source_registry

__all__ = ["PlanOutcome", "plan_run", "pushed_image"]


@dataclass(frozen=True)
class PlanOutcome:
    images: int
    batches: int
    missing: int


def pushed_image(env: RunEnvironment, conns: RunConnections) -> str | None:
    """The image a push run is for (``host/repository:tag``), None for other triggers.

    ECR sends push events to the event bus of the repository's own account and
    region: the stack's. An untagged push gives ``host/repository`` alone.
    """
    given = env.run_input
    if given.get("trigger") != "push":
        return None
    repository, tag = str(given.get("repository") or ""), str(given.get("tag") or "")
    if env.account_id:
        host = registry_host(env.account_id, env.region)
    else:
        host = source_registry(conns.spec, account_id=conns.account_id) or ""
    return f"{host}/{repository}:{tag}" if tag else f"{host}/{repository}"


async def _selection(env: RunEnvironment, conns: RunConnections) -> Selection:
    pushed = pushed_image(env, conns)
    if pushed is None:
        return await select_images(
            conns.spec, conns.lister, account_id=conns.account_id, lister_for=conns.lister_for
        )
    if not env.run_input.get("tag"):
        # A selection takes tags; an untagged push is copied by the next full run.
        return Selection((), (f"pushed image {pushed} has no tag: nothing to copy",))
    try:
        return pushed_selection(conns.spec, [pushed], account_id=conns.account_id)
    except InvalidReference as e:
        return Selection((), (f"pushed image {pushed} is not a valid reference: {e.reason}",))


async def plan_run(
    env: RunEnvironment,
    storage: RunStorage,
    settings: Settings,
    secrets: SecretStore | None,
    say: Callable[[str], None],
) -> PlanOutcome:
    conns = await open_connections(env.spec, settings=settings, secrets=secrets)
    try:
        selection = await _selection(env, conns)
    finally:
        await conns.aclose()
    for note in selection.notes:
        say(f"INFO {note}")
    missing: list[dict[str, Any]] = []
    for pair in selection.missing:
        error = missing_error(pair)
        say(f"ERROR failed {pair.source}: {error}")
        result = UnitResult(
            str(pair.source), str(pair.destination), ImageStatus.FAILED, attempts=1, error=error
        )
        missing.append(row_for(result, env.run_id))
    if missing:
        storage.put_rows(missing)
    batches = batches_of(selection.pairs)
    index = []
    for number, pairs in enumerate(batches, start=1):
        key = batch_key(env.run_id, number)
        storage.put_json(key, write_batch(env.run_id, pairs))
        index.append({"batch": key, "images": len(pairs)})
    # Last: the map reads this, so it names only batch files that exist.
    storage.put_json(batches_index_key(env.run_id), index)
    say(
        f"INFO planned {len(selection.pairs)} image(s) in {len(batches)} batch(es) to "
        f"s3://{env.bucket}/{batches_index_key(env.run_id)}"
    )
    return PlanOutcome(len(selection.pairs), len(batches), len(missing))
