"""Alembic environment: runs on the connection handed over by erp_common.migrate."""
from __future__ import annotations

from alembic import context

from erp_common.db import Base, UTCDateTime, get_engine
from erp_common.domains import load_models

load_models()
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        with get_engine().begin() as connection:
            _run(connection)
    else:
        _run(connection)


def _render_item(type_, obj, autogen_context):
    # UTCDateTime is a plain DATETIME in the database: keep migrations free of our own types.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("from sqlalchemy.dialects import mysql")
        return 'sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")'
    return False


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
