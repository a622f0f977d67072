"""Alembic environment for the store, driven from :func:`imageferry.store.migrate.migrate`.

The caller hands us an open connection in ``config.attributes["connection"]``;
there is no ``alembic.ini`` and no URL to read. SQLite gets batch mode so
later migrations can alter tables (SQLite's ALTER TABLE is limited).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from imageferry.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "imageferry's migrations run through imageferry.store.migrate.migrate(), "
        "not the alembic command line"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=config.get_main_option("version_table") or "alembic_version",
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
