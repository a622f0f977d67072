"""Runs on push, end to end: docker-registry notifies ``ferry serve``, which copies the image.

The source registry is Debian's docker-registry with a ``notifications``
endpoint pointing at ``ferry serve``'s ``/api/push/registry`` and the API
token in its ``Authorization`` header, as an operator would configure it.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from functional.serve.server import FerryServer
from imageferry.sandbox.skopeo import inspect_digest
from imageferry.store import RunStatus, Trigger
from imageferry.store.records import RunRecord
from stand_ins.images import push_image
from stand_ins.registry import LocalRegistry


def _notifying(server: FerryServer) -> dict[str, object]:
    return {
        "notifications": {
            "endpoints": [
                {
                    "name": "ferry",
                    "url": f"{server.url}/api/push/registry",
                    "headers": {"Authorization": [f"Bearer {server.token}"]},
                    "timeout": "2s",
                    "threshold": 3,
                    "backoff": "1s",
                }
            ]
        }
    }


def _push_runs(server: FerryServer, task_id: str, count: int) -> list[RunRecord]:
    deadline = time.monotonic() + 60
    with server.store() as store:
        while time.monotonic() < deadline:
            runs = list(store.list_runs(task_id).items)
            if len(runs) >= count and all(r.ended_at is not None for r in runs):
                return runs
            time.sleep(0.2)
    raise AssertionError(f"task {task_id} never had {count} finished run(s)")


def test_a_push_to_a_notifying_registry_is_copied_by_an_on_push_task(
    tmp_path: Path, dst_registry: LocalRegistry
) -> None:
    # A tag pushed while nobody listened: in the selection, but never pushed since.
    with LocalRegistry(data_dir=tmp_path / "src") as quiet:
        push_image(quiet.url, "app", "0", seed="before")
    server = FerryServer(tmp_path / "data")
    with (
        server,
        LocalRegistry(data_dir=tmp_path / "src", config_overrides=_notifying(server)) as src,
    ):
        task_id = server.create_task(
            {
                "sourceType": "Public",
                "srcRegistry": src.host,
                "srcList": "SELECTED",
                "srcImageList": "app:ALL_TAGS",
                "destRegistry": dst_registry.host,
                "destPrefix": "mirror",
                "scheduleType": "ON_PUSH",
            }
        )
        pushed = push_image(src.url, "app", "1", seed="pushed")
        push_image(src.url, "other", "1", seed="other")  # not in the selection
        [run] = _push_runs(server, task_id, 1)
        assert (run.status, run.trigger, run.error) == (RunStatus.DONE, Trigger.PUSH, "")
        assert (run.images_total, run.images_copied) == (1, 1)
        assert run.images == (f"{src.host}/app:1",)
        assert inspect_digest(f"docker://{dst_registry.host}/mirror/app:1") == pushed.digest
        catalog = httpx.get(f"{dst_registry.url}/v2/_catalog").json()["repositories"]
        assert catalog == ["mirror/app"]
        tags = httpx.get(f"{dst_registry.url}/v2/mirror/app/tags/list").json()["tags"]
        assert tags == ["1"]
