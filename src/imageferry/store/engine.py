"""Creating the SQLAlchemy engine for SQLite (the default) or PostgreSQL.

SQLite is tuned for one process with many threads: WAL so readers never wait
for the writer, foreign keys on (SQLite leaves them off by default, and the
cascades depend on them), a busy timeout instead of instant "database is
locked" errors, and write transactions that take the write lock up front
(``BEGIN IMMEDIATE``), so a read-then-write transaction never fails half way
with a stale snapshot. The data directory is created private (0700): the
store holds task parameters and password hashes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from imageferry.errors import ConfigError

__all__ = ["WRITE_OPTION", "make_engine", "safe_url"]

#: Execution option marking a connection that will write (``BEGIN IMMEDIATE`` on SQLite).
WRITE_OPTION = "imageferry_write"

_BUSY_TIMEOUT_MS = 30_000


def safe_url(url: str | URL) -> str:
    """The URL with its password masked, fit for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _prepare_sqlite_dir(path: Path) -> None:
    parent = path.expanduser().parent
    if not parent.exists():
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkdir's mode is filtered by the umask; make sure the result is private.
        parent.chmod(0o700)


def _install_sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own
        # implicit transactions start late and never as IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


_URL_EXAMPLE = "sqlite:////path/to/ferry.db or postgresql+psycopg://USER:PASSWORD@HOST/DB"


def _parse(url: str | URL) -> URL:
    """``url`` parsed, or ConfigError (never quoting it: it may hold a password)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"FERRY_DATABASE_URL is not a database URL; give {_URL_EXAMPLE}"
        ) from None
    try:
        parsed.get_dialect()
    except NoSuchModuleError:
        raise ConfigError(
            f"FERRY_DATABASE_URL {safe_url(parsed)}: no database {parsed.drivername!r}; "
            f"give {_URL_EXAMPLE}"
        ) from None
    except ModuleNotFoundError:
        pass  # the driver: create_engine says which extra brings it
    return parsed


def make_engine(url: str | URL, *, echo: bool = False) -> Engine:
    """An engine for ``url``; SQLite files get their private directory and pragmas."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(parsed)
        if path is not None:
            _prepare_sqlite_dir(path)
        engine = create_engine(parsed, echo=echo, connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000})
        _install_sqlite_events(engine)
        return engine
    if parsed.drivername == "postgresql":
        # SQLAlchemy's default PostgreSQL driver is psycopg2; the postgres extra
        # installs psycopg (version 3), so a bare postgresql:// URL means that one.
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        return create_engine(parsed, echo=echo, pool_pre_ping=True)
    except ModuleNotFoundError as e:
        raise ConfigError(_missing_driver(parsed, e.name or "its driver")) from None


def _missing_driver(url: URL, module: str) -> str:
    """One line: which database URL needs which module, and how to install it."""
    shown = safe_url(url)
    if url.get_backend_name() == "postgresql":
        return (
            f"the database {shown} needs the {module} driver, which a plain install "
            "leaves out: pip install 'imageferry[postgres]'"
        )
    return (
        f"the database {shown} needs the Python module {module}, which imageferry does "
        "not install; imageferry supports sqlite and postgresql"
    )
