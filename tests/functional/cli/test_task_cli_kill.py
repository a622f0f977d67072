"""A ``ferry task run`` killed mid-run: what the store says is true, and the next run finishes.

Results are written in batches, so a process killed outright loses the results
it had not written yet. Those units are still pending or running in the store,
never wrongly copied; the next run checks them again and skips what did arrive.
The source sits behind :class:`ThrottledProxy` so that one large image is still
copying when the process is killed.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx

from functional.cli.conftest import output, task_parameters
from functional.cli.throttle import ThrottledProxy
from imageferry.store import Store
from stand_ins.images import push_image, push_large_image

SMALL = [f"app{i}:1" for i in range(4)]
LAYER_BYTES = 6 * 1024 * 1024
RATE = 1024 * 1024  # bytes per second through the proxy: the large copy takes ~6 s


def _wait_small_ones_recorded(ferry_json, task_id: str, process: subprocess.Popen[str]) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        runs = ferry_json("task", "show", task_id)["runs"]
        if runs:
            by_status = [i["status"] for i in runs[0]["images"]]
            if by_status.count("copied") == len(SMALL) and "running" in by_status:
                return runs[0]
        time.sleep(0.2)
    raise AssertionError("the small images were never recorded while the large one copied")


def test_a_killed_run_records_only_what_happened_and_the_next_run_skips_it(
    src_registry, dst_registry, data_dir: Path, ferry, ferry_json, ferry_process, create_task
) -> None:
    for i, ref in enumerate(SMALL):
        repo, tag = ref.split(":")
        push_image(src_registry.url, repo, tag, seed=i)
    push_large_image(src_registry.url, "big", "1", LAYER_BYTES)
    with ThrottledProxy(("127.0.0.1", src_registry.port), RATE) as proxy:
        images = ",".join([*SMALL, "big:1"])
        task_id = create_task(task_parameters(proxy.host, dst_registry, images))

        process = ferry_process("task", "run", task_id)
        killed = _wait_small_ones_recorded(ferry_json, task_id, process)
        process.kill()
        process.wait(timeout=30)

        shown = ferry_json("task", "show", task_id)["runs"][0]
        assert shown["id"] == killed["id"]
        big = next(i for i in shown["images"] if i["source"].endswith("/big:1"))
        assert big["status"] in ("pending", "running")
        with httpx.Client() as client:
            absent = client.get(f"{dst_registry.url}/v2/mirror/big/manifests/1")
        assert absent.status_code == 404

        # What `ferry serve` does when it starts: end the runs nobody executes any more.
        with Store(f"sqlite:///{data_dir / 'imageferry.db'}") as store:
            [interrupted] = store.mark_interrupted_runs()
        assert interrupted.id == killed["id"]

        again = ferry("task", "run", task_id, "-o", "json")
        assert again.exit_code == 0, output(again)
        doc = json.loads(again.stdout)
        assert (doc["status"], doc["images_skipped"], doc["images_copied"]) == ("DONE", 4, 1)
        assert doc["store_bytes"] > 0
