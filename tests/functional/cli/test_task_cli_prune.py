"""``ferry task prune``: the newest runs of each task stay, the older ones go."""

from __future__ import annotations

from pathlib import Path

from fixtures.browser import VALID
from functional.cli.conftest import Ferry, output
from imageferry.settings import Settings
from imageferry.store import ImageStatus, UnitResult, open_store


def _three_runs(data_dir: Path) -> str:
    with open_store(Settings(data_dir=data_dir)) as store:
        task = store.create_task(VALID)
        for _ in range(3):
            run = store.create_run(task.id)
            store.record_results(run.id, [UnitResult("s/a:1", "d/a:1", ImageStatus.COPIED)])
            store.finish_run(run.id)
        return task.id


def test_prune_keeps_what_it_is_told(ferry: Ferry, data_dir: Path) -> None:
    task_id = _three_runs(data_dir)
    result = ferry("task", "prune", "--keep", "2")
    assert result.exit_code == 0, output(result)
    assert "deleted 1 run (1 image results, 0 log lines); kept the newest 2" in result.stdout
    by_setting = ferry("task", "prune", "-o", "json", env={"FERRY_KEEP_RUNS": "1"})
    assert by_setting.exit_code == 0, output(by_setting)
    assert '"runs": 1' in by_setting.stdout
    with open_store(Settings(data_dir=data_dir)) as store:
        assert store.list_runs(task_id).total == 1


def test_prune_needs_a_number_and_the_store(ferry: Ferry, data_dir: Path) -> None:
    _three_runs(data_dir)
    unset = ferry("task", "prune")
    assert unset.exit_code == 2 and "FERRY_KEEP_RUNS" in unset.stderr
    remote = ferry("task", "prune", "--keep", "1", "--server", "http://127.0.0.1:9")
    assert remote.exit_code == 2 and "without --server" in remote.stderr
    unknown = ferry("task", "prune", "--keep", "1", "--task", "t-nope")
    assert unknown.exit_code == 1 and "t-nope" in unknown.stderr
