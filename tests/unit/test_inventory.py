"""Inventory rules without HTTP: moves never go negative, the ledger sums to the balance, the check."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from erp_common import uow
from erp_common.catalog.api import find_skus
from erp_common.db import transaction
from erp_common.errors import Conflict, NotFound
from erp_common.inventory.api import StockDocument, StockLine, check_stock, post_stock
from erp_common.inventory.models import StockLedgerEntry, StockLevel
from erp_common.inventory.schemas import StockAdjustIn


def Move(sku_id, warehouse_id, kind, quantity, sku_code=""):  # noqa: N802 - reads as the line it builds
    return StockLine(sku_id, warehouse_id, kind, Decimal(quantity), sku_code=sku_code)


def move(*lines: StockLine):
    doc = StockDocument("test", f"unit-{uuid.uuid4().hex[:8]}", list(lines))
    return uow.run(lambda ctx: post_stock(ctx, doc), uow.system_caller("test"))


def test_moves_write_balances_after_and_sum_to_the_balance(make_sku, main_warehouse, stock_of):
    sku_id, _ = make_sku()
    move(Move(sku_id, main_warehouse, "receipt", 5))
    posting = move(Move(sku_id, main_warehouse, "reserve", 2), Move(sku_id, main_warehouse, "issue", 1))
    assert [(p.on_hand_after, p.reserved_after) for p in posting.lines] == [(5, 2), (4, 2)]
    assert stock_of(sku_id) == (Decimal(4), Decimal(2))
    with transaction() as session:
        rows = session.execute(select(StockLedgerEntry.qty_on_hand, StockLedgerEntry.qty_reserved)
                               .where(StockLedgerEntry.sku_id == sku_id)).all()
    assert sum(r.qty_on_hand for r in rows) == 4 and sum(r.qty_reserved for r in rows) == 2


@pytest.mark.parametrize("kind, quantity", [
    ("adjust", -4),  # more than available (2 of 5 are reserved: 5 - 2 = 3)
    ("reserve", 4),  # reserving more than available
    ("release", 3),  # releasing more than reserved
    ("issue", 4),
])
def test_nothing_goes_negative_and_a_refusal_changes_nothing(make_sku, main_warehouse, stock_of, kind, quantity):
    sku_id, code = make_sku()
    move(Move(sku_id, main_warehouse, "receipt", 5))
    move(Move(sku_id, main_warehouse, "reserve", 2))
    with pytest.raises(Conflict) as refused:
        move(Move(sku_id, main_warehouse, kind, quantity, sku_code=code))
    assert refused.value.code == "insufficient_stock" and refused.value.details[0]["available"] == "3"
    assert refused.value.details[0]["line"] == 0
    assert code in refused.value.message
    assert stock_of(sku_id) == (Decimal(5), Decimal(2))


def test_a_sku_without_stock_row_has_nothing_to_give(make_sku, main_warehouse):
    sku_id, _ = make_sku()
    with pytest.raises(Conflict):
        move(Move(sku_id, main_warehouse, "reserve", 1))


def test_the_check_finds_a_balance_changed_behind_the_ledger(make_sku, main_warehouse):
    sku_id, _ = make_sku()
    move(Move(sku_id, main_warehouse, "receipt", 3))
    with transaction() as session:
        assert check_stock(session).mismatches == []
        session.execute(update(StockLevel).where(StockLevel.sku_id == sku_id).values(on_hand=Decimal(4)))
        bad = check_stock(session).mismatches
        assert [(m.sku_id, m.on_hand, m.ledger_on_hand) for m in bad] == [(sku_id, Decimal(4), Decimal(3))]
        session.rollback()


def test_skus_resolve_by_id_or_code_and_unknown_ones_are_named(make_sku):
    sku_id, code = make_sku("3.50")
    with transaction() as session:
        by_id, by_code = find_skus(session, [sku_id, code])
        assert by_id == by_code and by_id.price == Decimal("3.50")
        with pytest.raises(NotFound) as missing:
            find_skus(session, [code, "nope", 10**9])
    assert [d["line"] for d in missing.value.details] == [1, 2]
    located = missing.value.locate(lambda i: f"lines[{i}].sku")
    assert [d["field"] for d in located.details] == ["lines[1].sku", "lines[2].sku"]


def test_every_posting_emits_one_typed_stock_event_with_its_lines_and_origin(make_sku, main_warehouse):
    from erp_common.events import OutboxEvent, load_event
    from erp_common.inventory.api import StockChanged

    sku_id, code = make_sku()
    doc_id = f"unit-{uuid.uuid4().hex[:8]}"
    doc = StockDocument("purchase_order", doc_id, [
        StockLine(sku_id, main_warehouse, "receipt", Decimal("4"), sku_code=code, origin_type="po_line",
                  origin_id="7/1")])
    uow.run(lambda ctx: post_stock(ctx, doc), uow.system_caller("test"))
    with transaction() as session:
        rows = [load_event(session, row.id) for row in session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "stock.changed").order_by(OutboxEvent.occurred_at.desc())
            .limit(20))]
    mine = [r.event for r in rows if r.event.doc_id == doc_id]
    assert len(mine) == 1 and isinstance(mine[0], StockChanged)
    (line,) = mine[0].lines
    assert (line.kind, line.qty_on_hand, line.on_hand_after, line.origin_type, line.origin_id) == \
        ("receipt", Decimal(4), Decimal(4), "po_line", "7/1")
    with transaction() as session:
        ledger = session.scalars(select(StockLedgerEntry).where(StockLedgerEntry.doc_id == doc_id)).one()
    assert (ledger.origin_type, ledger.origin_id, ledger.doc_type) == ("po_line", "7/1", "purchase_order")


def test_adjust_type_must_match_the_direction():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        StockAdjustIn(sku="A", direction="out", quantity=1, reason="r", type="receipt")
    assert StockAdjustIn(sku=1, direction="in", quantity="2.5", reason="r").sku == 1
