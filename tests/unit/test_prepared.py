"""Prepared statements (``erp_common.prepared``): the same values in and out as SQLAlchemy Core, and the
driver's errors reaching the unit of work as the same exceptions (both ways, both backends)."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from erp_common import db, prepared, uow
from erp_common.events import OutboxEvent
from erp_common.inventory.models import StockLevel
from tests.conftest import BACKEND
from tests.unit.test_db_connections import _kill_pooled_connections

CALLER = uow.system_caller("test-prepared")
_outbox = OutboxEvent.__table__
_levels = StockLevel.__table__
INSERT_EVENT = prepared.Prepared(insert(_outbox))
READ_EVENT = prepared.Prepared(select(_outbox.c.id, _outbox.c.version, _outbox.c.attempts, _outbox.c.occurred_at,
                                      _outbox.c.published_at).where(_outbox.c.id == bindparam("id")))
MARK_EVENT = prepared.Prepared(update(_outbox).where(_outbox.c.id == bindparam("event_id"))
                               .values(attempts=_outbox.c.attempts + 1))
LEVEL = prepared.Prepared(select(_levels.c.on_hand, _levels.c.reserved, _levels.c.updated_at)
                          .where(_levels.c.id == bindparam("level_id")).with_for_update())


class _Undo(Exception):
    pass


@contextmanager
def rolled_back():
    """A transaction undone at the end: stock rows written here must not outlive the test (the
    stock check of later tests compares every stock row with its ledger)."""
    try:
        with db.transaction() as session:
            yield session
            raise _Undo
    except _Undo:
        pass


@pytest.fixture(params=["driver", "core"])
def path(request, monkeypatch):
    """Each test twice: on the driver's cursor, and through SQLAlchemy Core."""
    if request.param == "core":
        monkeypatch.setattr(prepared, "driver_level", lambda: False)
    assert prepared.driver_level() is (request.param == "driver")
    return request.param


def test_values_go_in_and_come_back_as_core_gives_them(path):
    event_id, when = str(uuid.uuid4()), datetime(2026, 12, 2, 5, 6, 7, 891011, tzinfo=timezone.utc)
    with db.transaction() as session:
        # version and attempts are left out: their column defaults (1 and 0) fill them, as Core does
        INSERT_EVENT.run_many(session, [{"id": event_id, "type": "test.prepared", "data": "{}", "occurred_at": when}])
        assert MARK_EVENT.run(session, {"event_id": event_id}) == 1
        assert MARK_EVENT.run(session, {"event_id": "no such event"}) == 0
        rows = READ_EVENT.rows(session, {"id": event_id})
    assert len(rows) == 1
    row = rows[0]
    assert (row.id, row.version, row.attempts, row.published_at) == (event_id, 1, 1, None)
    assert row.occurred_at == when and row.occurred_at.tzinfo is not None  # aware UTC, microseconds kept


def test_an_insert_gives_the_new_id_and_decimals_stay_exact(path, make_sku, main_warehouse):
    sku_id, _ = make_sku("1.00")
    insert_level = prepared.Prepared(insert(_levels))
    with rolled_back() as session:
        level_id = insert_level.insert(session, {"sku_id": sku_id, "warehouse_id": main_warehouse,
                                                 "on_hand": Decimal("98765.4321"), "reserved": Decimal("0.0001"),
                                                 "updated_at": db.utcnow()})
        (row,) = LEVEL.rows(session, {"level_id": level_id})
    assert isinstance(level_id, int) and level_id > 0
    assert (row.on_hand, row.reserved) == (Decimal("98765.4321"), Decimal("0.0001"))
    assert isinstance(row.on_hand, Decimal) and row.updated_at.tzinfo is not None


def test_a_duplicate_key_is_an_integrity_error_naming_its_field(path, make_sku, main_warehouse):
    sku_id, _ = make_sku("1.00")
    insert_level = prepared.Prepared(insert(_levels))
    row = {"sku_id": sku_id, "warehouse_id": main_warehouse, "on_hand": Decimal(0), "reserved": Decimal(0),
           "updated_at": db.utcnow()}
    with pytest.raises(IntegrityError) as caught, db.transaction() as session:
        insert_level.insert(session, row)
        insert_level.insert(session, row)
    assert db.unique_key_field(caught.value) == "warehouse_id"  # uq_stock_sku_warehouse's last column
    with db.transaction(readonly=True) as session:  # rolled back whole
        assert session.scalar(select(_levels.c.id).where(_levels.c.sku_id == sku_id)) is None


@pytest.mark.skipif(BACKEND != "services", reason="needs MariaDB's row locks")
def test_a_lock_wait_timeout_is_retryable(path, make_sku, main_warehouse, put_stock):
    sku_id, _ = make_sku("1.00")
    put_stock(sku_id, 1)
    with db.transaction() as session:
        level_id = session.scalar(select(_levels.c.id).where(_levels.c.sku_id == sku_id))
    holder = db.get_engine().connect()
    try:
        holder.begin()
        holder.exec_driver_sql("SELECT id FROM stock_levels WHERE id = %s FOR UPDATE", (level_id,))
        with pytest.raises(DBAPIError) as caught, db.transaction() as session:
            session.connection().exec_driver_sql("SET SESSION innodb_lock_wait_timeout = 1")
            LEVEL.rows(session, {"level_id": level_id})
        assert db.is_retryable(caught.value)  # 1205: uow.run runs the unit of work again
    finally:
        holder.rollback()
        holder.close()
        db.get_engine().dispose()  # the connection whose lock wait was shortened


@pytest.mark.skipif(BACKEND != "services", reason="needs a MariaDB server whose connections can be killed")
def test_a_connection_the_server_dropped_is_invalidated_and_the_unit_of_work_retried(path, monkeypatch):
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 3600.0)  # no ping at checkout: the statement meets the dead link
    monkeypatch.setattr(uow.time, "sleep", lambda s: None)
    uow.run(lambda ctx: READ_EVENT.rows(ctx.session, {"id": "x"}), CALLER)
    assert _kill_pooled_connections() >= 1
    attempts = []

    def work(ctx):
        attempts.append(1)
        return READ_EVENT.rows(ctx.session, {"id": "x"})

    try:
        assert uow.run(work, CALLER) == []
        assert len(attempts) == 2  # the first met the dropped connection: invalidated, and run again
    finally:
        db.get_engine().dispose()


def test_an_expanding_in_cannot_be_prepared():
    statement = prepared.Prepared(select(_outbox.c.id).where(_outbox.c.id.in_(bindparam("ids", expanding=True))))
    with pytest.raises(ValueError, match="expanding"), db.transaction(readonly=True) as session:
        statement.rows(session, {"ids": ["a"]})


def test_a_value_the_driver_cannot_send_is_raised_as_core_raises_it(path):
    """An id beyond what the database holds: OverflowError on SQLite (as through Core), which the
    dispatcher answers 422 ``out_of_range``; MySQL compares it and finds nothing."""
    huge = 99_999_999_999_999_999_999
    with db.transaction(readonly=True) as session:
        try:
            rows = READ_EVENT.rows(session, {"id": str(huge)})
        except OverflowError:
            pytest.fail("a string is a string")
        assert rows == []
        if session.get_bind().dialect.name == "sqlite":
            with pytest.raises(OverflowError):
                LEVEL.rows(session, {"level_id": huge})
        else:
            assert LEVEL.rows(session, {"level_id": huge}) == []


def test_a_value_computed_at_each_execution_cannot_be_prepared():
    statement = prepared.Prepared(select(_outbox.c.id).where(_outbox.c.id == bindparam("id", callable_=lambda: "x")))
    with pytest.raises(ValueError, match="callable"), db.transaction(readonly=True) as session:
        statement.rows(session, {})
