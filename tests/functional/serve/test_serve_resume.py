"""``ferry serve`` killed mid-run (SIGKILL) and started again: the run goes on where it stopped.

The source sits behind :class:`ThrottledProxy` and the task copies at most
three images at a time, so 24 images take several seconds and the kill lands
mid-run. After the restart the run ends DONE with every image at the
destination, and the images recorded as copied before the kill were not
copied again. A stop asked for before the crash is honoured instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from functional.cli.throttle import ThrottledProxy
from functional.serve.server import FerryServer
from imageferry.sandbox.skopeo import inspect_digest
from imageferry.store import ImageStatus, RunStatus
from imageferry.store.records import RunRecord
from stand_ins.images import push_image
from stand_ins.registry import LocalRegistry

IMAGES = 24
RATE = 96 * 1024  # bytes per second per connection through the proxy


@pytest.fixture
def pushed(src_registry: LocalRegistry) -> dict[str, str]:
    """``app<i>:1`` -> digest, each image with one ~64 KiB layer of its own."""
    return {
        f"app{i}": push_image(
            src_registry.url, f"app{i}", "1", layers=1, layer_size=64 * 1024, seed=i
        ).digest
        for i in range(IMAGES)
    }


@pytest.fixture
def proxy(src_registry: LocalRegistry) -> Iterator[ThrottledProxy]:
    with ThrottledProxy(("127.0.0.1", src_registry.port), RATE) as p:
        yield p


def _parameters(proxy: ThrottledProxy, dst: LocalRegistry) -> dict[str, str]:
    return {
        "sourceType": "Public",
        "srcRegistry": proxy.host,
        "srcList": "SELECTED",
        "srcImageList": ",".join(f"app{i}:1" for i in range(IMAGES)),
        "destRegistry": dst.host,
        "destPrefix": "mirror",
        "scheduleType": "ONE_TIME",
        "concurrency": "3",
    }


def _wait(server: FerryServer, task_id: str, until: object, what: str) -> RunRecord:
    deadline = time.monotonic() + 120
    with server.store() as store:
        while time.monotonic() < deadline:
            run = store.latest_run(task_id)
            if run is not None and until(run):  # type: ignore[operator]
                return run
            time.sleep(0.2)
    raise AssertionError(f"the run never reached: {what}")


def _copied_sources(server: FerryServer, run_id: str) -> set[str]:
    with server.store() as store:
        return {r.source for r in store.list_image_results(run_id, status=ImageStatus.COPIED)}


def _mirrored(dst: LocalRegistry) -> list[str]:
    catalog = httpx.get(f"{dst.url}/v2/_catalog?n=1000").json()
    return sorted(catalog.get("repositories") or [])


def _killed_mid_run(
    server: FerryServer, proxy: ThrottledProxy, dst: LocalRegistry, copied: int
) -> tuple[str, RunRecord]:
    """Start the task's run, SIGKILL the server once ``copied`` images are recorded."""
    with server:
        task_id = server.create_task(_parameters(proxy, dst))
        killed = _wait(server, task_id, lambda r: r.images_copied >= copied, f"{copied} copied")
        server.kill()
    return task_id, killed


def test_a_killed_server_resumes_its_run_and_copies_nothing_twice(
    tmp_path: Path, pushed: dict[str, str], proxy: ThrottledProxy, dst_registry: LocalRegistry
) -> None:
    server = FerryServer(tmp_path / "data")
    task_id, killed = _killed_mid_run(server, proxy, dst_registry, 5)
    assert killed.status is RunStatus.IN_PROGRESS
    before = _copied_sources(server, killed.id)
    assert 5 <= len(before) < IMAGES

    with server:
        done = _wait(server, task_id, lambda r: r.status.value in ("DONE", "ERROR"), "its end")
    assert done.id == killed.id
    assert (done.status, done.error) == (RunStatus.DONE, "")
    assert done.images_copied + done.images_skipped == IMAGES
    for repo, digest in pushed.items():
        assert inspect_digest(f"docker://{dst_registry.host}/mirror/{repo}:1") == digest
    with server.store() as store:
        logs = [line.message for line in store.logs(done.id, limit=10_000)]
        results = {r.source: r for r in store.list_image_results(done.id)}
    [restart] = [i for i, m in enumerate(logs) if m.startswith("resumed after a restart")]
    after = {tuple(m.split(" ")[:2]) for m in logs[restart:]}
    for source in before:
        # Still recorded as copied by the first process, and never copied or checked again.
        assert results[source].status is ImageStatus.COPIED
        assert ("copied", source) not in after and ("skipped", source) not in after


def test_a_stop_asked_before_the_crash_is_honoured_after_the_restart(
    tmp_path: Path, pushed: dict[str, str], proxy: ThrottledProxy, dst_registry: LocalRegistry
) -> None:
    server = FerryServer(tmp_path / "data")
    task_id, killed = _killed_mid_run(server, proxy, dst_registry, 2)
    # The stop reached the store, and the process died before it acted on it.
    with server.store() as store:
        store.request_stop(killed.id)
    arrived = _mirrored(dst_registry)
    assert len(arrived) < IMAGES

    with server:
        stopped = _wait(server, task_id, lambda r: r.status.value != "STOPPING", "its end")
        time.sleep(2)  # long enough for a few more copies, were any still going
        assert _mirrored(dst_registry) == arrived
    assert stopped.status is RunStatus.STOPPED
    assert "interrupted by restart" in stopped.error
