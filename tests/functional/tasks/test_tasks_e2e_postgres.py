"""A full task life on the PostgreSQL store (shared deployments)."""

from __future__ import annotations

import pytest

from fixtures.tasks import Runtimes, run_to_end
from imageferry.store import TaskNotFound
from imageferry.store.status import ImageStatus, RunStatus
from stand_ins.images import push_index
from stand_ins.registry import LocalRegistry
from stand_ins.skopeo import inspect_digest

pytestmark = pytest.mark.postgres


def test_full_run_clone_and_delete_on_postgres(
    postgres_url: str,
    src_registry: LocalRegistry,
    dst_registry: LocalRegistry,
    runtimes: Runtimes,
) -> None:
    index = push_index(src_registry.url, "multi/arch", "1.0", seed="pg")
    runtime = runtimes.make(database_url=postgres_url)
    assert runtime.store.engine.dialect.name == "postgresql"
    task = runtime.service.create_task(
        {
            "sourceType": "Public",
            "srcRegistry": src_registry.host,
            "srcList": "ALL",
            "destRegistry": dst_registry.host,
            "destPrefix": "pg",
            "scheduleType": "ONE_TIME",
        },
        name="on-postgres",
    )
    run = run_to_end(runtime, task.id)
    assert run.status is RunStatus.DONE, run.error
    (result,) = runtime.service.image_results(run.id)
    assert (result.status, result.digest) == (ImageStatus.COPIED, index.digest)
    assert result.bytes_transferred > 0
    assert inspect_digest(f"{dst_registry.host}/pg/multi/arch:1.0") == index.digest

    # A clone with an override is a new task; its run finds everything there.
    clone = runtime.service.clone(task.id, {"destPrefix": "pg"})
    assert clone.id != task.id and clone.name == "on-postgres (clone)"
    assert clone.parameters["srcRegistry"] == src_registry.host
    again = run_to_end(runtime, clone.id)
    assert (again.status, again.images_skipped) == (RunStatus.DONE, 1)

    runtime.service.delete(task.id)
    with pytest.raises(TaskNotFound):
        runtime.service.get_task(task.id)
    assert runtime.service.get_task(clone.id).status == "DONE"
