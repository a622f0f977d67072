"""Running the store's Alembic migrations from code.

The migration scripts ship inside the package (``imageferry/store/migrations``),
and the Alembic configuration is built here, so no ``alembic.ini`` is needed
at run time: ``ferry serve`` and ``ferry task`` upgrade the database on open.

Alembic itself is loaded only when there is something to do: a database
already at :data:`HEAD` is recognised with one query, so a ``ferry task``
command does not pay Alembic's start-up (a good part of a short run's).

For developers, a new revision is made with::

    python -c "from imageferry.store.migrate import revision; revision('what changed')"

and :data:`HEAD` set to its id (a test checks it is Alembic's head).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, column, select, table
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.expression import ColumnClause

from imageferry.store.engine import make_engine, safe_url
from imageferry.store.errors import StoreUnavailable

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "HEAD",
    "VERSION_TABLE",
    "alembic_config",
    "current_revision",
    "head_revision",
    "migrate",
    "revision",
]

#: Our own version table, so a shared PostgreSQL database can host other Alembic users.
VERSION_TABLE = "imageferry_alembic_version"

#: The newest revision under migrations/versions.
HEAD = "0005"

_SCRIPT_LOCATION = "imageferry.store:migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` pointing at the packaged scripts, optionally bound to a connection."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", _SCRIPT_LOCATION)
    config.set_main_option("version_table", VERSION_TABLE)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision shipped with this version of imageferry, as Alembic finds it."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001
        raise StoreUnavailable("no store migrations are packaged; reinstall imageferry")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def migrate(target: Engine | str | URL, revision: str = "head") -> None:
    """``alembic upgrade <revision>`` (default: head) on ``target``.

    Safe to call on every start: an up-to-date database is left alone.
    """
    engine = target if isinstance(target, Engine) else make_engine(target)
    try:
        if revision == "head" and _at_head(engine):
            return
        from alembic import command

        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    except SQLAlchemyError as e:
        cause = " ".join(str(getattr(e, "orig", None) or e).split())  # one line
        raise StoreUnavailable(
            f"cannot migrate the store at {safe_url(engine.url)}: {cause}; "
            "check FERRY_DATABASE_URL and that the database is reachable"
        ) from e
    finally:
        if engine is not target:
            engine.dispose()


def _at_head(engine: Engine) -> bool:
    """Is the database at :data:`HEAD`? (No for an empty one, or any doubt.)"""
    try:
        with engine.connect() as connection:
            version: ColumnClause[str] = column("version_num")
            found = connection.execute(select(version).select_from(table(VERSION_TABLE, version)))
            return list(found.scalars()) == [HEAD]
    except SQLAlchemyError:
        return False


def revision(message: str) -> None:  # pragma: no cover - developer tool
    """Autogenerate a new revision against a scratch SQLite database at head."""
    import tempfile

    from alembic import command

    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{scratch}/scratch.db")
        migrate(engine)
        with engine.begin() as connection:
            command.revision(alembic_config(connection), message=message, autogenerate=True)
        engine.dispose()
