"""Alembic environment for the store; run only through :mod:`store.migrate`.

The caller passes an open SQLAlchemy ``Connection`` in ``config.attributes["connection"]``
(already inside a transaction); offline (``--sql``) mode is not supported.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from store.models import Base

target_metadata = Base.metadata


def run_migrations_online(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode recreates the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("store migrations do not support offline (--sql) mode")

_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError(
        "store migrations need a Connection in config.attributes['connection']; "
        "use store.migrate.alembic_config(connection)"
    )
run_migrations_online(_connection)
