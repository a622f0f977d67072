from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from imageferry.errors import ConfigError
from imageferry.store.engine import make_engine, safe_url


def test_sqlite_data_dir_is_private_and_pragmas_are_on(tmp_path: Path) -> None:
    db = tmp_path / "new" / "nested" / "imageferry.db"
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
        assert db.exists()
    finally:
        engine.dispose()


def test_existing_data_dir_is_left_alone(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    engine = make_engine(f"sqlite:///{tmp_path / 'imageferry.db'}")
    engine.dispose()
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


def test_safe_url_hides_the_password() -> None:
    shown = safe_url("postgresql+psycopg://ferry:hunter2@db.internal:5432/ferry")
    assert "hunter2" not in shown
    assert "db.internal" in shown and "ferry" in shown


def test_a_bare_postgresql_url_uses_psycopg_of_the_postgres_extra() -> None:
    engine = make_engine("postgresql://ferry:hunter2@127.0.0.1:1/ferry")
    try:
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def test_postgresql_without_its_driver_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # None in sys.modules makes `import psycopg` fail as on a plain install.
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(ConfigError) as caught:
        make_engine("postgresql+psycopg://ferry:hunter2@db.internal/ferry")
    message = str(caught.value)
    assert "pip install 'imageferry[postgres]'" in message
    assert "psycopg" in message and "db.internal" in message
    assert "hunter2" not in message


def test_a_database_imageferry_does_not_support_is_named() -> None:
    with pytest.raises(ConfigError, match="supports sqlite and postgresql"):
        make_engine("mysql://ferry@127.0.0.1/ferry")
