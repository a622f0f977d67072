"""Runs on Celery workers: nothing lost, nothing copied twice, when any process dies.

One cluster for the module: Debian's ``redis-server`` (append-only file on), a
PostgreSQL database, ``ferry serve`` with ``FERRY_EXECUTOR=celery`` and two
``ferry worker`` processes, copying 60 images (6 repositories of 10 tags,
batches of 4) from a registry behind a slow link (~0.7 s per image) to
another. Each case runs the task into its own destination prefix, hurts one
process mid-run, and checks that the run still ends as it should with every
image at the destination with its source digest.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from fixtures.postgres import PostgresServer, pause_postgres
from functional.celery.processes import FerryWorker, RedisServer, wait_for
from functional.cli.throttle import ThrottledProxy
from functional.serve.server import FerryServer
from imageferry.sandbox.skopeo import inspect_digest
from imageferry.settings import Settings
from imageferry.store import RunStatus, Store, open_store
from imageferry.store.records import RunRecord
from imageferry.store.status import FINISHED_RUN_STATUSES
from imageferry.tasks.outcome import CLOSING
from stand_ins.images import push_image
from stand_ins.registry import LocalRegistry

pytestmark = pytest.mark.postgres

REPOSITORIES = 6
TAGS = 10
IMAGES = REPOSITORIES * TAGS
RATE = 96 * 1024  # bytes per second per connection through the proxy
ACCEPT = ",".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)


@dataclass
class Cluster:
    server: FerryServer
    workers: list[FerryWorker]
    redis: RedisServer
    postgres: PostgresServer
    database_url: str
    proxy: ThrottledProxy
    dst: LocalRegistry
    #: ``app<r>:<t>`` -> digest at the source.
    pushed: dict[str, str]

    def store(self) -> Store:
        return open_store(Settings(database_url=self.database_url))

    def start_run(self, prefix: str) -> str:
        """Create and start a task copying every image under ``prefix``."""
        task_id = self.server.create_task(
            {
                "sourceType": "Public",
                "srcRegistry": self.proxy.host,
                "srcList": "SELECTED",
                "srcImageList": ",".join(sorted(self.pushed)),
                "destRegistry": self.dst.host,
                "destPrefix": prefix,
                "scheduleType": "ONE_TIME",
                "concurrency": "2",
            }
        )
        # Started at once, not at the scheduler's next look (409: the scheduler was first).
        started = self.server.api("POST", f"/tasks/{task_id}/start")
        assert started.status_code in (202, 409), started.text
        return task_id

    def wait_run(
        self, task_id: str, until: Callable[[RunRecord], bool], what: str, timeout: float = 90
    ) -> RunRecord:
        found: list[RunRecord] = []

        def reached() -> bool:
            run = store.latest_run(task_id)
            if run is not None and until(run):
                found.append(run)
                return True
            return False

        with self.store() as store:
            wait_for(reached, what, timeout)
        return found[0]

    def wait_end(self, task_id: str) -> RunRecord:
        return self.wait_run(task_id, lambda r: r.status in FINISHED_RUN_STATUSES, "the run's end")

    def arrived(self, prefix: str) -> dict[str, str]:
        """``app<r>:<t>`` -> digest of each image tagged under ``prefix`` at the destination."""
        found: dict[str, str] = {}
        with httpx.Client(base_url=self.dst.url, timeout=10) as client:
            for repo in range(REPOSITORIES):
                listed = client.get(f"/v2/{prefix}/app{repo}/tags/list")
                for tag in (listed.json().get("tags") or []) if listed.status_code == 200 else []:
                    got = client.get(
                        f"/v2/{prefix}/app{repo}/manifests/{tag}", headers={"Accept": ACCEPT}
                    )
                    got.raise_for_status()
                    found[f"app{repo}:{tag}"] = "sha256:" + hashlib.sha256(got.content).hexdigest()
        return found

    def assert_all_arrived(self, prefix: str) -> None:
        assert self.arrived(prefix) == self.pushed
        # And once through skopeo, as any user would check.
        assert inspect_digest(f"docker://{self.dst.host}/{prefix}/app0:1") == self.pushed["app0:1"]

    def assert_done(self, run: RunRecord) -> None:
        assert (run.status, run.error) == (RunStatus.DONE, ""), run
        assert run.images_copied + run.images_skipped == IMAGES
        assert run.images_failed == 0


def _push_all(registry: LocalRegistry) -> dict[str, str]:
    return {
        f"app{r}:{t}": push_image(
            registry.url, f"app{r}", str(t), layers=1, layer_size=64 * 1024, seed=f"{r}/{t}"
        ).digest
        for r in range(REPOSITORIES)
        for t in range(1, TAGS + 1)
    }


@pytest.fixture(scope="module")
def cluster(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("celery")
    database = f"ferry_{secrets.token_hex(6)}"
    with postgres_server.connect() as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    redis = RedisServer(root / "redis").start()
    try:
        with LocalRegistry() as src, LocalRegistry() as dst:
            pushed = _push_all(src)
            with ThrottledProxy(("127.0.0.1", src.port), RATE) as proxy:
                env = {
                    "FERRY_EXECUTOR": "celery",
                    "FERRY_BROKER_URL": redis.url,
                    "FERRY_DATABASE_URL": postgres_server.url(database),
                    "FERRY_DATA_DIR": str(root / "data"),
                    "FERRY_SECRET_BACKEND": "local",
                    "FERRY_BATCH_SIZE": "4",
                    "FERRY_BROKER_VISIBILITY_TIMEOUT": "6",
                }
                server = FerryServer(root / "data", log_file=root / "serve.log", **env)
                workers = [FerryWorker(f"w{i}", env, root) for i in (1, 2)]
                try:
                    server.start()
                    for worker in workers:
                        worker.start()
                    yield Cluster(
                        server,
                        workers,
                        redis,
                        postgres_server,
                        postgres_server.url(database),
                        proxy,
                        dst,
                        pushed,
                    )
                finally:
                    for worker in workers:
                        worker.stop()
                    server.stop()
    finally:
        redis.stop()
        with postgres_server.connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _copied_at_least(n: int) -> Callable[[RunRecord], bool]:
    return lambda run: run.images_copied >= n


def test_a_run_spreads_over_both_workers_and_a_second_run_copies_nothing(
    cluster: Cluster,
) -> None:
    started = time.monotonic()
    task_id = cluster.start_run("plain")
    run = cluster.wait_end(task_id)
    seconds = time.monotonic() - started
    cluster.assert_done(run)
    assert run.images_copied == IMAGES
    cluster.assert_all_arrived("plain")
    with cluster.store() as store:
        lines = [line.message for line in store.logs(run.id, limit=10_000)]
    assert any(" on w1@test" in m for m in lines) and any(" on w2@test" in m for m in lines)
    # Ended once, by one process: one closing line, one word on the alarm.
    assert sum(m.startswith(CLOSING) for m in lines) == 1
    assert sum(m.startswith("no alarm sent") for m in lines) == 1
    print(f"{IMAGES} images on two workers: {seconds:.1f}s")

    # A second copy of every unit is a skip: nothing uploaded again.
    cluster.server.api("POST", f"/tasks/{task_id}/start").raise_for_status()
    again = cluster.wait_run(
        task_id,
        lambda r: r.id != run.id and r.status in FINISHED_RUN_STATUSES,
        "the second run's end",
    )
    cluster.assert_done(again)
    assert (again.images_skipped, again.bytes_transferred) == (IMAGES, 0)


def _survives(cluster: Cluster, prefix: str, hurt: Callable[[], None]) -> float:
    """Run the task into ``prefix``, ``hurt`` the cluster mid-run: the run still ends
    DONE with every image there. Returns the seconds from the hurt to the end."""
    task_id = cluster.start_run(prefix)
    cluster.wait_run(task_id, _copied_at_least(8), "8 images copied")
    hurt()
    hurt_at = time.monotonic()
    run = cluster.wait_end(task_id)
    seconds = time.monotonic() - hurt_at
    cluster.assert_done(run)
    cluster.assert_all_arrived(prefix)
    return seconds


def test_a_killed_worker_s_batches_are_finished_by_the_other(cluster: Cluster) -> None:
    victim = cluster.workers[0]
    try:
        seconds = _survives(cluster, "worker-killed", victim.kill)
    finally:
        if not victim.alive:
            victim.start()
    print(f"run ended {seconds:.1f}s after the worker's SIGKILL")


def test_a_killed_server_restarted_queues_the_unfinished_units_again(cluster: Cluster) -> None:
    def hurt() -> None:
        cluster.server.kill()
        # The batches it queued are lost too (as if it died while queueing them): only
        # the restarted server's re-queueing of the unfinished units can end the run.
        assert cluster.redis.drop_queue("ferry") > 0
        cluster.server.start()

    _survives(cluster, "server-killed", hurt)


def test_the_run_goes_on_when_redis_restarts(cluster: Cluster) -> None:
    def hurt() -> None:
        cluster.redis.stop()
        cluster.redis.start()

    _survives(cluster, "redis-restarted", hurt)


def test_workers_that_lose_the_store_retry(cluster: Cluster) -> None:
    _survives(cluster, "store-lost", lambda: pause_postgres(cluster.postgres, 3.0))
    logs = "".join(w.log() for w in cluster.workers)
    assert "Retry in" in logs  # Celery: "Task imageferry.copy_batch[…] retry: Retry in 1s"


def test_a_stop_revokes_the_queued_batches_and_leaves_no_half_tag(cluster: Cluster) -> None:
    task_id = cluster.start_run("stopped")
    cluster.wait_run(task_id, _copied_at_least(4), "4 images copied")
    cluster.server.api("POST", f"/tasks/{task_id}/stop").raise_for_status()
    run = cluster.wait_end(task_id)
    assert run.status is RunStatus.STOPPED
    arrived = cluster.arrived("stopped")
    assert 4 <= len(arrived) < IMAGES
    # Every tag there is a whole image: the source's digest.
    assert {ref: cluster.pushed[ref] for ref in arrived} == arrived
    time.sleep(2)  # long enough for a few more copies, were any still going
    assert cluster.arrived("stopped") == arrived
