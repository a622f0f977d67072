"""Running the store's Alembic migrations from code.

The migration scripts ship inside the package (``imageferry/store/migrations``),
and the Alembic configuration is built here, so no ``alembic.ini`` is needed
at run time: ``ferry serve`` and ``ferry task`` upgrade the database on open.

For developers, a new revision is made with::

    python -c "from imageferry.store.migrate import revision; revision('what changed')"
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from imageferry.store.engine import make_engine, safe_url
from imageferry.store.errors import StoreUnavailable

__all__ = [
    "VERSION_TABLE",
    "alembic_config",
    "current_revision",
    "head_revision",
    "migrate",
    "revision",
]

#: Our own version table, so a shared PostgreSQL database can host other Alembic users.
VERSION_TABLE = "imageferry_alembic_version"

_SCRIPT_LOCATION = "imageferry.store:migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` pointing at the packaged scripts, optionally bound to a connection."""
    config = Config()
    config.set_main_option("script_location", _SCRIPT_LOCATION)
    config.set_main_option("version_table", VERSION_TABLE)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision shipped with this version of imageferry."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001
        raise StoreUnavailable("no store migrations are packaged; reinstall imageferry")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def migrate(target: Engine | str | URL, revision: str = "head") -> None:
    """``alembic upgrade <revision>`` (default: head) on ``target``.

    Safe to call on every start: an up-to-date database is left alone.
    """
    engine = target if isinstance(target, Engine) else make_engine(target)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    except SQLAlchemyError as e:
        cause = getattr(e, "orig", None) or e
        raise StoreUnavailable(
            f"cannot migrate the store at {safe_url(engine.url)}: {cause}; "
            "check FERRY_DATABASE_URL and that the database is reachable"
        ) from e
    finally:
        if engine is not target:
            engine.dispose()


def revision(message: str) -> None:  # pragma: no cover - developer tool
    """Autogenerate a new revision against a scratch SQLite database at head."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{scratch}/scratch.db")
        migrate(engine)
        with engine.begin() as connection:
            command.revision(alembic_config(connection), message=message, autogenerate=True)
        engine.dispose()
