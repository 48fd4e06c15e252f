"""The ledger's moving average cost without HTTP: receipts move it (4 places, half up), other moves go
out at it, a return comes back at the cost its sale went out at, the history and a past valuation."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from erp_common import uow
from erp_common.db import transaction, utcnow
from erp_common.inventory.api import (
    StockDocument,
    StockLine,
    cost_history,
    current_cost,
    post_stock,
    round_unit_cost,
    stock_values,
)
from erp_common.schemas import round_amount

D = Decimal


def post(*lines: StockLine):
    doc = StockDocument("test", f"unit-{uuid.uuid4().hex[:8]}", list(lines))
    return uow.run(lambda ctx: post_stock(ctx, doc), uow.system_caller("test"))


def cost(sku_id):
    with transaction() as session:
        return current_cost(session, sku_id)


@pytest.mark.parametrize("value, rounded", [
    ("1.00005", "1.0001"), ("1.00004999", "1.0000"), ("2.34565", "2.3457"), ("-0.00005", "-0.0001")])
def test_unit_costs_round_to_four_places_half_up(value, rounded):
    assert round_unit_cost(D(value)) == D(rounded)


@pytest.mark.parametrize("value, rounded", [("0.005", "0.01"), ("0.0049", "0.00"), ("10.125", "10.13")])
def test_amounts_round_to_the_cent_half_up(value, rounded):
    assert round_amount(D(value)) == D(rounded)


def test_receipts_move_the_average_and_other_moves_go_out_at_it(make_sku, main_warehouse):
    sku_id, _ = make_sku()
    w = main_warehouse
    assert cost(sku_id) is None
    first = post(StockLine(sku_id, w, "receipt", D(10), unit_cost=D("4.00")))
    assert first.lines[0].unit_cost == D(4) and cost(sku_id).unit_cost == D(4)
    post(StockLine(sku_id, w, "receipt", D(20), unit_cost=D("5.00")))
    # (10 * 4 + 20 * 5) / 30 = 4.6666... -> 4.6667
    assert cost(sku_id).unit_cost == D("4.6667") and cost(sku_id).on_hand == D(30)
    out = post(StockLine(sku_id, w, "issue", D(3)), StockLine(sku_id, w, "reserve", D(1)))
    assert [ln.unit_cost for ln in out.lines] == [D("4.6667"), None]  # a reservation moves no goods
    assert cost(sku_id).unit_cost == D("4.6667") and cost(sku_id).on_hand == D(27)
    post(StockLine(sku_id, w, "receipt", D(3), unit_cost=D("1.0001")))
    # (27 * 4.6667 + 3 * 1.0001) / 30 = 4.30004 -> 4.3000
    assert cost(sku_id).unit_cost == D("4.3000")
    with transaction() as session:
        history = cost_history(session, sku_id)
    assert [(h.unit_cost_before, h.on_hand_before, h.qty_in, h.cost_in, h.unit_cost) for h in history] == [
        (D("4.6667"), D(27), D(3), D("1.0001"), D("4.3000")),
        (D(4), D(10), D(20), D(5), D("4.6667")),
        (None, D(0), D(10), D(4), D(4))]


def test_a_return_comes_back_at_the_cost_its_sale_went_out_at(make_sku, main_warehouse):
    sku_id, _ = make_sku()
    w, origin = main_warehouse, {"origin_type": "sales_order_line", "origin_id": f"{uuid.uuid4().int % 10**8}/1"}
    post(StockLine(sku_id, w, "receipt", D(10), unit_cost=D(2)))
    post(StockLine(sku_id, w, "reserve", D(4), **origin))
    sale = post(StockLine(sku_id, w, "sale", D(4), **origin))
    assert sale.lines[0].unit_cost == D(2)
    post(StockLine(sku_id, w, "receipt", D(6), unit_cost=D(8)))  # (6 * 2 + 6 * 8) / 12 = 5
    assert cost(sku_id).unit_cost == D(5)
    back = post(StockLine(sku_id, w, "return", D(1), **origin))
    assert back.lines[0].unit_cost == D(2)  # not today's 5
    assert cost(sku_id).unit_cost == D("4.7692")  # (12 * 5 + 1 * 2) / 13 = 4.76923...
    plain = post(StockLine(sku_id, w, "return", D(1)))  # no origin: at the average
    assert plain.lines[0].unit_cost == D("4.7692") and cost(sku_id).unit_cost == D("4.7692")


def test_stock_received_before_any_cost_takes_the_first_cost(make_sku, main_warehouse):
    sku_id, _ = make_sku()
    uncosted = post(StockLine(sku_id, main_warehouse, "receipt", D(5)))
    assert uncosted.lines[0].unit_cost is None and cost(sku_id) is None
    post(StockLine(sku_id, main_warehouse, "receipt", D(5), unit_cost=D(3)))
    assert (cost(sku_id).unit_cost, cost(sku_id).on_hand) == (D(3), D(10))


def test_the_average_is_over_every_warehouse_and_a_transfer_leaves_it(make_sku, main_warehouse):
    from erp_common.inventory.models import Warehouse

    sku_id, _ = make_sku()
    with transaction() as session:
        other = Warehouse(code=f"W{uuid.uuid4().hex[:8]}", name="other", is_default=False, is_active=True,
                          created_at=utcnow())
        session.add(other)
        session.flush()
        other_id = other.id
    post(StockLine(sku_id, main_warehouse, "receipt", D(10), unit_cost=D(1)))
    post(StockLine(sku_id, other_id, "receipt", D(10), unit_cost=D(3)))
    assert cost(sku_id).unit_cost == D(2)
    moved = post(StockLine(sku_id, main_warehouse, "transfer_out", D(4)),
                 StockLine(sku_id, other_id, "transfer_in", D(4)))
    assert [ln.unit_cost for ln in moved.lines] == [D(2), D(2)] and cost(sku_id).unit_cost == D(2)
    with transaction() as session:
        values = {(v.warehouse_id, v.on_hand, v.unit_cost) for v in stock_values(session) if v.sku_id == sku_id}
    assert values == {(main_warehouse, D(6), D(2)), (other_id, D(14), D(2))}


def test_stock_values_at_a_past_time(make_sku, main_warehouse):
    sku_id, _ = make_sku()
    post(StockLine(sku_id, main_warehouse, "receipt", D(10), unit_cost=D(4)))
    between = utcnow()
    post(StockLine(sku_id, main_warehouse, "receipt", D(10), unit_cost=D(6)))
    with transaction() as session:
        then = [v for v in stock_values(session, between) if v.sku_id == sku_id]
        now = [v for v in stock_values(session) if v.sku_id == sku_id]
    assert [(v.on_hand, v.unit_cost) for v in then] == [(D(10), D(4))]
    assert [(v.on_hand, v.unit_cost) for v in now] == [(D(20), D(5))]
