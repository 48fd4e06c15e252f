"""Lost database connections: pinged after idleness, the unit of work retried if it had not
reached its commit, never retried once the commit was sent (its outcome is unknown)."""
from __future__ import annotations

import os
from contextlib import contextmanager

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from erp_common import db, uow
from tests.conftest import BACKEND

CALLER = uow.system_caller("test")


def _lost(statement: str) -> OperationalError:
    return OperationalError(statement, {}, Exception(2013, "Lost connection to server during query"),
                            connection_invalidated=True)


def test_a_connection_lost_before_the_commit_is_retried(monkeypatch):
    calls = []

    def work(ctx):
        session = ctx.session
        calls.append(1)
        if len(calls) == 1:
            raise _lost("SELECT 1")
        return session.scalar(select(1))

    monkeypatch.setattr(uow.time, "sleep", lambda s: None)
    assert uow.run(work, CALLER) == 1
    assert len(calls) == 2


def test_a_connection_lost_during_the_commit_is_not_retried(monkeypatch):
    @contextmanager
    def committing_fails(*, readonly=False, replica=False):
        yield None
        raise _lost("COMMIT")

    calls = []
    monkeypatch.setattr(db, "transaction", committing_fails)
    with pytest.raises(OperationalError):
        uow.run(lambda ctx: calls.append(1), CALLER)
    assert calls == [1]  # the order may have committed: running it again could make two


def test_other_operational_errors_are_not_retried():
    calls = []

    def work(ctx):
        calls.append(1)
        raise OperationalError("SELECT 1", {}, Exception(1054, "Unknown column"))

    with pytest.raises(OperationalError):
        uow.run(work, CALLER)
    assert calls == [1]


def _kill_pooled_connections() -> int:
    import pymysql

    name = os.environ["ERP_TEST_DATABASE"]
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()",
                        (name,))
            ids = [r[0] for r in cur.fetchall()]
            for connection_id in ids:
                try:
                    cur.execute(f"KILL CONNECTION {int(connection_id)}")
                except pymysql.err.OperationalError:
                    pass  # it ended meanwhile
    finally:
        conn.close()
    return len(ids)


@pytest.mark.skipif(BACKEND != "services", reason="needs a MariaDB server whose connections can be killed")
@pytest.mark.parametrize("ping_after_idle", [0.0, 3600.0], ids=["pinged-after-idleness", "retried"])
def test_units_of_work_survive_the_server_dropping_the_pool(monkeypatch, ping_after_idle):
    monkeypatch.setattr(db, "PING_AFTER_IDLE", ping_after_idle)
    monkeypatch.setattr(uow.time, "sleep", lambda s: None)
    uow.run(lambda ctx: ctx.session.execute(text("SELECT 1")), CALLER)  # at least one pooled connection
    assert _kill_pooled_connections() >= 1
    calls = []

    def work(ctx):
        session = ctx.session
        calls.append(1)
        return session.scalar(text("SELECT 1"))

    try:
        assert uow.run(work, CALLER) == 1
        # pinged at checkout: replaced before the work ran; not pinged: the first statement failed, run again
        assert len(calls) == (1 if ping_after_idle == 0.0 else 2)
    finally:
        db.get_engine().dispose()  # no killed connection left in the pool for the next tests


@pytest.mark.skipif(BACKEND != "services", reason="needs MariaDB")
def test_a_new_pooled_connection_builds_no_ssl_context(monkeypatch):
    import ssl

    built = []
    real = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: built.append(1) or real(*a, **k))
    engine = db.get_engine()
    with engine.connect() as first, engine.connect() as second:  # at least one new connection
        assert first.exec_driver_sql("SELECT 1").scalar() == second.exec_driver_sql("SELECT 1").scalar() == 1
    assert built == []


def test_the_pool_keeps_a_connection_more_than_the_request_threads(monkeypatch):
    monkeypatch.setattr(db, "_request_threads", 0)
    assert db.pool_size() == db.get_settings().db_pool_size == 20
    monkeypatch.setattr(db, "_request_threads", 32)
    assert db.pool_size() == 33  # more threads than ERP_DB_POOL_SIZE: the pool follows them
    monkeypatch.setattr(db, "_request_threads", 4)
    assert db.pool_size() == 20  # a function's 4 threads: the setting stands
