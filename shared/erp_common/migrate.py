"""Schema migrations: Alembic, driven from code (``erp migrate``; the gateway at start-up)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .db import get_engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(revision: str = "head") -> None:
    """Bring the database up to ``revision`` (the newest by default)."""
    config = alembic_config()
    engine = get_engine()
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        return
    # SQLite changes a column by rebuilding its table (Alembic's batch mode: copy, drop, rename).
    # With foreign keys on, dropping a table other rows reference fails or deletes; SQLite only
    # lets them be switched off outside a transaction, and they are checked before the commit.
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration would leave {len(broken)} rows pointing nowhere: "
                                       f"{broken[:5]}")
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


def current_revision() -> str | None:
    with get_engine().connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def schema_problem(current: str | None, head: str | None, known: set[str]) -> str | None:
    """Why code at ``head`` cannot serve a database at ``current`` yet, or None if it can.

    Behind: no schema, or a revision this code knows that is not its head (the migrations have not
    run: the function is not ready until they have). Ahead (a revision this code does not know) is
    served: a release's migrations keep the previous release's code working during the rollout.
    """
    if current is None:
        return f"the database has no schema: run erp migrate (this code needs revision {head})"
    if current in known and current != head:
        return f"the database is at schema revision {current}, this code needs {head}: run erp migrate"
    return None


_schema_ready = False


def check_schema() -> str | None:
    """``schema_problem`` for this process's database; once it is None it is not asked again."""
    global _schema_ready
    if _schema_ready:
        return None
    scripts = ScriptDirectory.from_config(alembic_config())
    problem = schema_problem(current_revision(), scripts.get_current_head(),
                             {rev.revision for rev in scripts.walk_revisions()})
    _schema_ready = problem is None
    return problem
