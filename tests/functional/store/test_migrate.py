"""Migrations apply on an empty database, are idempotent, and match the models."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from imageferry.store import Store, current_revision, head_revision
from imageferry.store.engine import make_engine
from imageferry.store.migrate import HEAD, VERSION_TABLE, migrate
from imageferry.store.models import Base

TABLES = {"tasks", "runs", "image_results", "log_lines", "users", "api_tokens", "deployments"}


def test_migrate_creates_every_table_at_head(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is None
        migrate(engine)
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) >= TABLES | {VERSION_TABLE}
    finally:
        engine.dispose()


def test_migrate_twice_keeps_the_data(database_url: str) -> None:
    with Store(database_url) as store:
        task = store.create_task({"srcList": "ALL"}, name="kept")
    migrate(database_url)
    with Store(database_url) as store:
        assert store.get_task(task.id).name == "kept"


def test_schema_from_migrations_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
            )
            differences = [
                d
                for d in compare_metadata(context, Base.metadata)
                if not (d[0] == "remove_table" and d[1].name == VERSION_TABLE)
            ]
        assert differences == []
    finally:
        engine.dispose()


def test_downgrade_to_base_and_back(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        from alembic import command

        from imageferry.store.migrate import alembic_config

        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        assert not TABLES & set(inspect(engine).get_table_names())
        migrate(engine)
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_the_head_the_store_checks_on_open_is_alembics() -> None:
    assert head_revision() == HEAD


def test_opening_an_up_to_date_store_does_not_load_alembic(tmp_path) -> None:
    # Alembic's import is a good part of a short `ferry task` command.
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(url)
    probe = (
        "import sys; from imageferry.store import Store; "
        f"Store({url!r}).close(); print('alembic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "False"
