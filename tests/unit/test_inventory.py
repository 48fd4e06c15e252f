"""Inventory rules without HTTP: moves never go negative, the ledger sums to the balance, the check."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from erp_common.context import Context
from erp_common.db import run_in_transaction, transaction, utcnow
from erp_common.errors import Conflict, NotFound
from erp_common.inventory.models import StockLedgerEntry, StockLevel
from erp_common.inventory.schemas import StockAdjustIn
from erp_common.inventory.services import Move, check_stock, post_moves, resolve_skus


def move(*moves: Move, create: bool = False) -> list[dict]:
    def work(session):
        ctx = Context(session=session, principal=None, request_id=uuid.uuid4().hex, now=utcnow())
        return post_moves(ctx, list(moves), "test", "unit", create=create)

    return run_in_transaction(work)


def test_moves_write_balances_after_and_sum_to_the_balance(make_sku, main_warehouse, stock_of):
    sku_id, _ = make_sku()
    move(Move(sku_id, main_warehouse, "receipt", on_hand=Decimal(5)), create=True)
    entries = move(Move(sku_id, main_warehouse, "reserve", reserved=Decimal(2)),
                   Move(sku_id, main_warehouse, "issue", on_hand=Decimal(-1)))
    assert [(e["on_hand_after"], e["reserved_after"]) for e in entries] == [(5, 2), (4, 2)]
    assert stock_of(sku_id) == (Decimal(4), Decimal(2))
    with transaction() as session:
        rows = session.execute(select(StockLedgerEntry.qty_on_hand, StockLedgerEntry.qty_reserved)
                               .where(StockLedgerEntry.sku_id == sku_id)).all()
    assert sum(r.qty_on_hand for r in rows) == 4 and sum(r.qty_reserved for r in rows) == 2


@pytest.mark.parametrize("bad", [
    {"on_hand": Decimal(-4)},  # more than available (3 of 5 are reserved... 5 - 2 = 3)
    {"reserved": Decimal(4)},  # reserving more than available
    {"reserved": Decimal(-3)},  # releasing more than reserved
])
def test_nothing_goes_negative_and_a_refusal_changes_nothing(make_sku, main_warehouse, stock_of, bad):
    sku_id, code = make_sku()
    move(Move(sku_id, main_warehouse, "receipt", on_hand=Decimal(5)), create=True)
    move(Move(sku_id, main_warehouse, "reserve", reserved=Decimal(2)))
    with pytest.raises(Conflict) as refused:
        move(Move(sku_id, main_warehouse, "adjust", sku_code=code, **bad))
    assert refused.value.code == "insufficient_stock" and refused.value.details[0]["available"] == "3"
    assert code in refused.value.message
    assert stock_of(sku_id) == (Decimal(5), Decimal(2))


def test_a_sku_without_stock_row_has_nothing_to_give(make_sku, main_warehouse):
    sku_id, _ = make_sku()
    with pytest.raises(Conflict):
        move(Move(sku_id, main_warehouse, "reserve", reserved=Decimal(1)))


def test_the_check_finds_a_balance_changed_behind_the_ledger(make_sku, main_warehouse):
    sku_id, _ = make_sku()
    move(Move(sku_id, main_warehouse, "receipt", on_hand=Decimal(3)), create=True)
    with transaction() as session:
        assert check_stock(session).mismatches == []
        session.execute(update(StockLevel).where(StockLevel.sku_id == sku_id).values(on_hand=Decimal(4)))
        bad = check_stock(session).mismatches
        assert [(m.sku_id, m.on_hand, m.ledger_on_hand) for m in bad] == [(sku_id, Decimal(4), Decimal(3))]
        session.rollback()


def test_skus_resolve_by_id_or_code_and_unknown_ones_are_named(make_sku):
    sku_id, code = make_sku("3.50")
    with transaction() as session:
        by_id, by_code = resolve_skus(session, [sku_id, code], ["a", "b"])
        assert by_id == by_code and by_id.price == Decimal("3.50")
        with pytest.raises(NotFound) as missing:
            resolve_skus(session, [code, "nope", 10**9], ["lines[0].sku", "lines[1].sku", "lines[2].sku"])
    assert [d["field"] for d in missing.value.details] == ["lines[1].sku", "lines[2].sku"]


def test_adjust_type_must_match_the_direction():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        StockAdjustIn(sku="A", direction="out", quantity=1, reason="r", type="receipt")
    assert StockAdjustIn(sku=1, direction="in", quantity="2.5", reason="r").sku == 1
