from __future__ import annotations

import stat
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import StatementError

from imageferry.settings import Settings
from imageferry.store import Store, open_store
from imageferry.store.records import Page


def test_open_store_puts_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "ferry-data"
    with open_store(Settings(data_dir=data_dir)) as store:
        task = store.create_task({"srcList": "ALL"})
    assert (data_dir / "imageferry.db").exists()
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    with open_store(Settings(data_dir=data_dir)) as store:
        assert store.get_task(task.id).id == task.id


def test_records_are_frozen_and_outlive_the_session(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        task = store.create_task({"srcList": "ALL"})
        run = store.create_run(task.id)
    # The store is closed: the records are plain values.
    assert run.task_id == task.id and run.seconds is None
    with pytest.raises(AttributeError):
        task.name = "changed"  # type: ignore[misc]


def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    with (
        Store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store,
        pytest.raises(StatementError, match="naive"),
    ):
        store.create_task({"a": "b"}, next_run_at=datetime(2030, 1, 1))


def test_page_iterates_its_items() -> None:
    page = Page(items=(1, 2, 3), total=10, offset=0, limit=3)
    assert list(page) == [1, 2, 3] and len(page) == 3 and page.total == 10


def test_package_exports_resolve() -> None:
    import imageferry.store as pkg

    for name in pkg.__all__:
        assert getattr(pkg, name) is not None, name


def test_paging_arguments_are_checked_and_capped() -> None:
    from imageferry.errors import ConfigError
    from imageferry.store.base import MAX_PAGE, page_bounds

    assert page_bounds(10, 10_000) == (10, MAX_PAGE)
    for offset, limit in ((-1, 10), (0, 0)):
        with pytest.raises(ConfigError, match="invalid page"):
            page_bounds(offset, limit)
