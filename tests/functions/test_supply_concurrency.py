"""Purchasing and production under concurrency, through the gateway over HTTP, on both backends (the
issue asks for MariaDB; on SQLite the writers queue on the database lock).

* Two receipts of one SKU at different costs, from two POs into two warehouses (so that only the
  SKU's cost row, not a stock row, is shared), race 100 times: the moving average
  must equal the sequential computation replayed in the order the receipts were applied (no
  lost update of ``sku_costs``), and the quantity it is over must equal the stock.
* Two work orders release the last components of one SKU at once, 20 times: one is released,
  the other gets 409 ``insufficient_stock``, and no balance ever goes negative.
"""
from __future__ import annotations

from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.conftest import auth, unique
from tests.functions.test_concurrency import never_negative, race

ROUNDS = 100


@pytest.fixture(scope="module")
def boss(make_user) -> str:
    return make_user("manager")[1]


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def test_two_receipts_race_100_times_and_the_average_is_the_sequential_one(client, gateway, boss, make_sku,
                                                                           admin_token):
    from sqlalchemy import select

    from erp_common.db import transaction
    from erp_common.inventory.models import SkuCost, SkuCostChange, StockLevel

    sku_id, _ = make_sku()
    supplier = ok(client.post("/function/supplier-create", json={"code": unique("SUP"), "name": "Race"},
                              headers=auth(boss)), 201)
    other = ok(client.post("/function/warehouse-create", json={"code": unique("W"), "name": "Second"},
                           headers=auth(admin_token)), 201)
    pairs = []
    for i in range(ROUNDS):
        pos = []
        for qty, cost, warehouse in ((3 + i % 4, "1.2345", None), (5, f"{2 + (i % 7) / 10:.4f}", other["id"])):
            po = ok(client.post("/function/po-create", json={
                "supplier_id": supplier["id"], "warehouse_id": warehouse,
                "lines": [{"sku": sku_id, "qty": qty, "unit_cost": cost}]}, headers=auth(boss)), 201)
            ok(client.post(f"/function/po-approve/{po['id']}", headers=auth(boss)))
            pos.append(po["id"])
        pairs.append(pos)
    for pos in pairs:
        responses = race(gateway, 2, lambda http, i, pos=pos: http.post(f"/function/po-receive/{pos[i]}",
                                                                          headers=auth(boss)))
        assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    with transaction() as session:
        history = session.scalars(select(SkuCostChange).where(SkuCostChange.sku_id == sku_id)
                                  .order_by(SkuCostChange.id)).all()
        final = session.get(SkuCost, sku_id)
        stock = sum(session.scalars(select(StockLevel.on_hand).where(StockLevel.sku_id == sku_id)))
    assert len(history) == 2 * ROUNDS
    average, on_hand = None, Decimal(0)
    for change in history:  # replay: each change started from the one before it
        assert (change.unit_cost_before, change.on_hand_before) == (average, on_hand)
        average = change.cost_in if average is None else (
            (on_hand * average + change.qty_in * change.cost_in) / (on_hand + change.qty_in)
        ).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        assert change.unit_cost == average
        on_hand += change.qty_in
    assert (final.unit_cost, final.on_hand) == (average, on_hand) and stock == on_hand


def test_two_work_orders_race_for_the_last_components(client, gateway, boss, make_sku, put_stock, stock_of):
    (part, _), finished = make_sku(), [make_sku()[0] for _ in range(2)]
    for sku in finished:
        ok(client.post("/function/bom-create", json={"sku": sku, "components": [{"sku": part, "qty": 2}]},
                       headers=auth(boss)), 201)
    outcomes = Counter()
    for _ in range(20):
        put_stock(part, 6)  # enough for one work order of 3, not for two
        orders = [ok(client.post("/function/workorder-create", json={"sku": sku, "quantity": 3}, headers=auth(boss)),
                     201) for sku in finished]
        responses = race(gateway, 2, lambda http, i, orders=orders: http.post(
            f"/function/workorder-release/{orders[i]['id']}", headers=auth(boss)))
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 409], [r.text for r in responses]
        loser = next(r for r in responses if r.status_code == 409).json()["error"]
        assert loser["code"] == "insufficient_stock" and loser["details"][0]["field"] == "components[0]"
        outcomes.update(statuses)
        winner = next(o for o, r in zip(orders, responses, strict=True) if r.status_code == 200)
        ok(client.post(f"/function/workorder-complete/{winner['id']}", headers=auth(boss)))  # uses up the 6
        assert stock_of(part) == (Decimal(0), Decimal(0))
    assert outcomes == {200: 20, 409: 20}
    never_negative(part)
