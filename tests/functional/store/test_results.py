"""Per-image results (idempotent upsert, counters, search) and run logs (follow)."""

from __future__ import annotations

import threading

import pytest

from imageferry.store import (
    ImageStatus,
    ImageUnit,
    RunFinished,
    RunNotFound,
    Store,
    UnitResult,
    unit_key,
)

PARAMS = {"sourceType": "Amazon_ECR", "srcList": "ALL", "destRegion": "eu-west-1"}


@pytest.fixture
def run_id(store: Store) -> str:
    return store.create_run(store.create_task(PARAMS).id).id


def test_recording_the_same_unit_twice_updates_one_row(store: Store, run_id: str) -> None:
    for attempt, status in ((1, ImageStatus.RUNNING), (2, ImageStatus.COPIED)):
        store.record_image_result(
            run_id,
            source="docker.io/library/alpine:3.20",
            destination="123.dkr.ecr.eu-west-1.amazonaws.com/mirror/library/alpine:3.20",
            status=status,
            digest="sha256:" + "a" * 64,
            bytes_transferred=3_000_000,
            bytes_reused=1_000,
            seconds=1.5,
            attempts=attempt,
        )
    (result,) = store.list_image_results(run_id)
    assert result.status is ImageStatus.COPIED
    assert result.attempts == 2
    assert result.unit_key == unit_key(
        "docker.io/library/alpine:3.20",
        "123.dkr.ecr.eu-west-1.amazonaws.com/mirror/library/alpine:3.20",
    )
    run = store.get_run(run_id)
    assert (run.images_total, run.images_copied, run.images_done) == (1, 1, 1)
    assert run.bytes_transferred == 3_000_000 and run.bytes_reused == 1_000


def test_counters_follow_a_unit_that_fails_then_succeeds(store: Store, run_id: str) -> None:
    kw = {"source": "s:1", "destination": "d:1"}
    store.record_image_result(run_id, status=ImageStatus.FAILED, error="503", **kw)
    assert store.get_run(run_id).images_failed == 1
    store.record_image_result(run_id, status=ImageStatus.COPIED, **kw)
    run = store.get_run(run_id)
    assert (run.images_failed, run.images_copied) == (0, 1)
    (result,) = store.list_image_results(run_id)
    assert result.error == ""


def test_planned_units_are_pending_and_count_toward_the_total(store: Store, run_id: str) -> None:
    units = [ImageUnit(f"src/app{i}:1", f"dst/app{i}:1") for i in range(4)]
    assert store.add_pending_images(run_id, units) == 4
    assert store.add_pending_images(run_id, units[:2]) == 0
    store.record_image_result(
        run_id, source="src/app0:1", destination="dst/app0:1", status=ImageStatus.SKIPPED
    )
    run = store.get_run(run_id)
    assert (run.images_total, run.images_done, run.images_skipped) == (4, 1, 1)
    assert store.list_image_results(run_id, status=ImageStatus.PENDING).total == 3


def test_declared_total_before_planning_rows(store: Store, run_id: str) -> None:
    assert store.set_images_total(run_id, 10).images_total == 10
    store.record_image_result(run_id, source="a", destination="b", status=ImageStatus.COPIED)
    assert store.get_run(run_id).images_total == 10


def test_results_can_be_searched_filtered_and_paged(store: Store, run_id: str) -> None:
    for name, status in [
        ("library/alpine:3.20", ImageStatus.COPIED),
        ("library/alpine:3.19", ImageStatus.FAILED),
        ("library/busybox:1", ImageStatus.SKIPPED),
        ("team/app_v1:latest", ImageStatus.COPIED),
        ("team/appXv1:latest", ImageStatus.COPIED),
    ]:
        store.record_image_result(
            run_id, source=f"docker.io/{name}", destination=f"mirror/{name}", status=status
        )
    assert store.list_image_results(run_id, search="ALPINE").total == 2
    assert [
        r.source
        for r in store.list_image_results(run_id, search="alpine", status=ImageStatus.FAILED)
    ] == ["docker.io/library/alpine:3.19"]
    # "_" is a literal underscore, not a LIKE wildcard.
    assert [r.source for r in store.list_image_results(run_id, search="app_v")] == [
        "docker.io/team/app_v1:latest"
    ]
    statuses = [ImageStatus.SKIPPED, ImageStatus.FAILED]
    assert store.list_image_results(run_id, status=statuses).total == 2
    page = store.list_image_results(run_id, offset=2, limit=2)
    assert page.total == 5 and len(page) == 2
    with pytest.raises(RunNotFound):
        store.list_image_results("r-missing")


def test_long_errors_are_cut(store: Store, run_id: str) -> None:
    store.record_image_result(
        run_id, source="a", destination="b", status=ImageStatus.FAILED, error="x" * 100_000
    )
    (result,) = store.list_image_results(run_id)
    assert 0 < len(result.error) <= 4000


def test_following_a_log_returns_each_line_once_in_order(store: Store, run_id: str) -> None:
    first = store.append_log(run_id, "info", "listing repositories")
    assert first.seq == 1
    store.append_logs(run_id, [("info", "copying alpine"), ("warning", "retrying: 503")])
    seen = store.logs(run_id)
    assert [(line.seq, line.level, line.message) for line in seen] == [
        (1, "info", "listing repositories"),
        (2, "info", "copying alpine"),
        (3, "warning", "retrying: 503"),
    ]
    assert store.logs(run_id, after_id=seen[-1].seq) == []
    store.append_log(run_id, "error", "failed alpine")
    assert [line.message for line in store.logs(run_id, after_id=3)] == ["failed alpine"]
    assert [line.seq for line in store.logs(run_id, after_id=0, limit=2)] == [1, 2]


def test_concurrent_log_writers_never_skip_a_sequence_number(
    store: Store, run_id: str, database_url: str
) -> None:
    other = Store(database_url, migrate=False)
    barrier = threading.Barrier(2)

    def write(s: Store, who: str) -> None:
        barrier.wait()
        for i in range(20):
            s.append_log(run_id, "info", f"{who} {i}")

    threads = [threading.Thread(target=write, args=(s, w)) for s, w in ((store, "a"), (other, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    lines = store.logs(run_id)
    assert [line.seq for line in lines] == list(range(1, 41))
    assert sorted(line.message for line in lines) == sorted(
        [f"a {i}" for i in range(20)] + [f"b {i}" for i in range(20)]
    )


def _batch(n: int, status: ImageStatus = ImageStatus.SKIPPED) -> list[UnitResult]:
    return [
        UnitResult(f"src/app{i}:1", f"dst/app{i}:1", status, digest="sha256:" + "b" * 64)
        for i in range(n)
    ]


def test_a_batch_is_recorded_with_its_log_lines_in_order(store: Store, run_id: str) -> None:
    store.record_results(run_id, _batch(3), [("INFO", "one"), ("WARNING", "two")])
    store.record_results(run_id, [], [("INFO", "three")])
    run = store.get_run(run_id)
    assert (run.images_total, run.images_skipped, run.images_done) == (3, 3, 3)
    assert [r.status for r in store.list_image_results(run_id).items] == [ImageStatus.SKIPPED] * 3
    assert [(line.seq, line.level, line.message) for line in store.logs(run_id)] == [
        (1, "INFO", "one"),
        (2, "WARNING", "two"),
        (3, "INFO", "three"),
    ]


def test_a_batch_recorded_twice_leaves_one_row_per_unit(store: Store, run_id: str) -> None:
    store.add_pending_images(run_id, [ImageUnit(r.source, r.destination) for r in _batch(4)])
    running = _batch(2, ImageStatus.RUNNING)
    store.record_results(run_id, running)
    # An executor that lost the reply to its write sends the same batch again.
    store.record_results(run_id, _batch(2))
    store.record_results(run_id, _batch(2))
    results = store.list_image_results(run_id).items
    assert len(results) == 4
    assert sorted(r.status.value for r in results) == ["pending", "pending", "skipped", "skipped"]
    run = store.get_run(run_id)
    assert (run.images_total, run.images_skipped, run.images_done) == (4, 2, 2)


def test_the_last_state_of_a_unit_in_a_batch_wins(store: Store, run_id: str) -> None:
    (running,) = _batch(1, ImageStatus.RUNNING)
    (copied,) = _batch(1, ImageStatus.COPIED)
    store.record_results(run_id, [running, copied])
    (result,) = store.list_image_results(run_id).items
    assert result.status is ImageStatus.COPIED


def test_a_finished_run_refuses_a_batch(store: Store, run_id: str) -> None:
    store.finish_run(run_id)
    with pytest.raises(RunFinished):
        store.record_results(run_id, _batch(1), [("INFO", "late")])
    assert store.list_image_results(run_id).total == 0


def test_an_ended_run_reports_the_bytes_it_stores(store: Store, run_id: str) -> None:
    assert store.get_run(run_id).store_bytes == 0
    error = "dépassé"  # not ASCII: counted in UTF-8 bytes, not characters
    result = UnitResult("src/a:1", "dst/a:1", ImageStatus.FAILED, error=error)
    store.record_results(run_id, [result], [("ERROR", error)])
    assert store.get_run(run_id).store_bytes == 0  # counted when the run ends

    run = store.finish_run(run_id)
    texts = (run_id, result.key, "src/a:1", "dst/a:1", "", "failed", error)
    row = sum(len(t.encode()) for t in texts) + 6 * 8
    line = len(run_id) + len("ERROR") + len(error.encode()) + 3 * 8
    assert run.store_bytes == row + line
    assert store.get_run(run_id).store_bytes == run.store_bytes
