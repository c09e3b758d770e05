"""Alembic environment of the central store."""

from alembic import context
from sqlalchemy import Engine

from hallapp.sync.migrations import VERSION_TABLE
from hallapp.sync.schema import central_metadata

config = context.config


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    assert isinstance(engine, Engine)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=central_metadata(),
            version_table=VERSION_TABLE,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
