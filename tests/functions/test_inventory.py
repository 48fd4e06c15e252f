"""Inventory functions through the gateway over HTTP: warehouses, adjust, transfer, count, thresholds,
stock and ledger queries."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import auth, unique
from tests.functions.test_identity import assert_error


@pytest.fixture(scope="module")
def keeper(make_user):
    return make_user("warehouse")[1]


@pytest.fixture(scope="module")
def reader(make_user):
    return make_user("cashier")[1]


def post(client, token, name, body, key=None):
    headers = auth(token)
    if key:
        headers["Idempotency-Key"] = key
    return client.post(f"/function/{name}", json=body, headers=headers)


def ok(response, status=200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def new_warehouse(client, token, **extra) -> dict:
    return ok(post(client, token, "warehouse-create", {"code": unique("WH"), "name": "Shop", **extra}), 201)


class TestWarehouses:
    def test_create_list_and_the_default(self, client, keeper, reader, admin_token):
        warehouse = new_warehouse(client, keeper, address="1 High St")
        assert warehouse["is_default"] is False and warehouse["is_active"] is True
        listed = ok(client.get("/function/warehouse-list", params={"q": warehouse["code"]}, headers=auth(reader)))
        assert listed["total"] == 1 and listed["items"][0]["id"] == warehouse["id"]
        main = ok(client.get("/function/warehouse-list", params={"q": "MAIN"}, headers=auth(reader)))["items"][0]
        assert main["is_default"] is True
        assert_error(post(client, keeper, "warehouse-create", {"code": warehouse["code"], "name": "again"}), 409,
                     "warehouse_code_taken", "code")

    def test_making_another_default_moves_the_flag(self, client, admin_token, main_warehouse):
        from sqlalchemy import select, update

        from erp_common.db import transaction
        from erp_common.inventory.models import Warehouse

        other = new_warehouse(client, admin_token, is_default=True)
        try:
            with transaction() as session:
                defaults = session.scalars(select(Warehouse.id).where(Warehouse.is_default.is_(True))).all()
            assert defaults == [other["id"]]
        finally:
            with transaction() as session:
                session.execute(update(Warehouse).values(is_default=Warehouse.id == main_warehouse))

    @pytest.mark.parametrize("body, field", [
        ({"name": "x"}, "code"), ({"code": "a b", "name": "x"}, "code"), ({"code": "A"}, "name"),
        ({"code": "A", "name": "x", "colour": 1}, "colour"),
    ])
    def test_bad_input(self, client, keeper, body, field):
        assert_error(post(client, keeper, "warehouse-create", body), 422, "validation_error", field)

    def test_seed_style_paths(self, client, reader):
        assert ok(client.get("/stock/warehouse-list", headers=auth(reader)))["total"] >= 1
        assert ok(client.get("/stock/query", headers=auth(reader)))["page"] == 1

    def test_roles(self, client, reader):
        assert_error(post(client, reader, "warehouse-create", {"code": unique("W"), "name": "x"}), 403)
        assert_error(client.get("/function/warehouse-list"), 401)


class TestAdjust:
    def test_in_and_out_with_the_ledger_and_balances_after(self, client, keeper, make_sku, stock_of):
        sku_id, code = make_sku()
        moved = ok(post(client, keeper, "stock-adjust",
                        {"sku": code, "direction": "in", "quantity": "7.5", "reason": "opening", "type": "receipt"}))
        assert moved["doc_type"] == "adjustment" and moved["entries"][0]["type"] == "receipt"
        assert moved["entries"][0]["on_hand_after"] == "7.5" and moved["stock"][0]["available"] == "7.5"
        moved = ok(post(client, keeper, "stock-adjust",
                        {"sku": sku_id, "direction": "out", "quantity": 2, "reason": "broken"}))
        assert moved["entries"][0]["qty_on_hand"] == "-2" and moved["entries"][0]["type"] == "adjust"
        assert stock_of(sku_id) == (Decimal("5.5"), Decimal(0))
        ledger = ok(client.get("/function/stock-ledger", params={"sku": code}, headers=auth(keeper)))
        assert [(e["type"], e["on_hand_after"], e["reason"]) for e in ledger["items"]] == [
            ("adjust", "5.5", "broken"), ("receipt", "7.5", "opening")]
        assert ledger["items"][0]["id"] == moved["entries"][0]["id"] > 0  # the answer names the row it wrote

    def test_taking_out_more_than_available_is_409_naming_the_sku(self, client, keeper, reader, make_sku,
                                                                  put_stock, stock_of):
        sku_id, code = make_sku()
        put_stock(sku_id, 3)
        ok(client.post("/function/order-create", json={"lines": [{"sku": sku_id, "qty": 2}]},
                       headers=auth(reader)), 201)
        error = assert_error(post(client, keeper, "stock-adjust",
                                  {"sku": code, "direction": "out", "quantity": 2, "reason": "lost"}),
                             409, "insufficient_stock")
        assert code in error["message"] and error["details"][0]["available"] == "1"
        never, never_code = make_sku()
        error = assert_error(post(client, keeper, "stock-adjust",
                                  {"sku": never, "direction": "out", "quantity": 1, "reason": "x"}), 409)
        assert error["details"][0]["available"] == "0"
        assert stock_of(sku_id) == (Decimal(3), Decimal(2))

    @pytest.mark.parametrize("body, field", [
        ({"direction": "in", "quantity": 1, "reason": "r"}, "sku"),
        ({"sku": "X", "direction": "sideways", "quantity": 1, "reason": "r"}, "direction"),
        ({"sku": "X", "direction": "in", "quantity": 0, "reason": "r"}, "quantity"),
        ({"sku": "X", "direction": "in", "quantity": "1.00001", "reason": "r"}, "quantity"),
        ({"sku": "X", "direction": "in", "quantity": 1}, "reason"),
        ({"sku": "X", "direction": "in", "quantity": 1, "reason": "r", "type": "issue"}, "type"),
        ({"sku": "X", "direction": "in", "quantity": 1, "reason": "r", "type": "sale"}, "type"),
    ])
    def test_bad_input(self, client, keeper, body, field):
        assert_error(post(client, keeper, "stock-adjust", body), 422, "validation_error", field)

    def test_unknown_sku_or_warehouse_is_404(self, client, keeper, make_sku):
        assert_error(post(client, keeper, "stock-adjust", {"sku": unique("nope"), "direction": "in", "quantity": 1,
                                                           "reason": "r"}), 404, "unknown_sku", "sku")
        sku_id, _ = make_sku()
        assert_error(post(client, keeper, "stock-adjust", {"sku": sku_id, "warehouse_id": 9999, "direction": "in",
                                                           "quantity": 1, "reason": "r"}), 404, field="warehouse_id")

    def test_roles_and_idempotency(self, client, keeper, reader, make_sku, stock_of):
        sku_id, _ = make_sku()
        body = {"sku": sku_id, "direction": "in", "quantity": 4, "reason": "delivery"}
        assert_error(post(client, reader, "stock-adjust", body), 403)
        key = unique("adj")
        first = ok(post(client, keeper, "stock-adjust", body, key))
        again = post(client, keeper, "stock-adjust", body, key)
        assert again.json() == first and again.headers["Idempotent-Replayed"] == "true"
        assert stock_of(sku_id) == (Decimal(4), Decimal(0))


class TestTransfer:
    def test_moves_every_line_or_none(self, client, keeper, make_sku, put_stock, stock_of, main_warehouse,
                                      stock_check):
        shop = new_warehouse(client, keeper)["id"]
        a, a_code = make_sku()
        b, b_code = make_sku()
        put_stock(a, 5)
        put_stock(b, 1)
        body = {"from_warehouse_id": main_warehouse, "to_warehouse_id": shop, "reason": "restock",
                "lines": [{"sku": a_code, "quantity": 3}, {"sku": b, "quantity": 2}]}
        error = assert_error(post(client, keeper, "stock-transfer", body), 409, "insufficient_stock")
        assert [d["sku"] for d in error["details"]] == [b_code]
        assert stock_of(a) == (Decimal(5), Decimal(0)) and stock_of(a, shop) == (Decimal(0), Decimal(0))
        body["lines"][1]["quantity"] = 1
        moved = ok(post(client, keeper, "stock-transfer", body))
        assert sorted(e["type"] for e in moved["entries"]) == ["transfer_in", "transfer_in", "transfer_out",
                                                               "transfer_out"]
        ledger = ok(client.get("/function/stock-ledger", params={"doc_id": moved["doc_id"]}, headers=auth(keeper)))
        assert sorted((e["id"], e["sku_id"], e["type"]) for e in moved["entries"]) == sorted(
            (e["id"], e["sku_id"], e["type"]) for e in ledger["items"])
        assert stock_of(a) == (Decimal(2), Decimal(0)) and stock_of(a, shop) == (Decimal(3), Decimal(0))
        assert stock_of(b) == (Decimal(0), Decimal(0)) and stock_of(b, shop) == (Decimal(1), Decimal(0))
        assert stock_check() == []

    def test_bad_transfers(self, client, keeper, make_sku, main_warehouse):
        sku_id, _ = make_sku()
        same = {"from_warehouse_id": main_warehouse, "to_warehouse_id": main_warehouse,
                "lines": [{"sku": sku_id, "quantity": 1}]}
        assert_error(post(client, keeper, "stock-transfer", same), 422, field="to_warehouse_id")
        twice = {**same, "to_warehouse_id": 99999}
        assert_error(post(client, keeper, "stock-transfer", twice), 404, field="to_warehouse_id")
        assert_error(post(client, keeper, "stock-transfer", {**same, "lines": []}), 422, field="lines")
        shop = new_warehouse(client, keeper)["id"]
        repeat = {**same, "to_warehouse_id": shop, "lines": [{"sku": sku_id, "quantity": 1}] * 2}
        assert_error(post(client, keeper, "stock-transfer", repeat), 422, field="lines[1].sku")


class TestCount:
    def test_posts_the_differences_and_refuses_below_reserved(self, client, keeper, reader, make_sku, put_stock,
                                                              stock_of):
        a, a_code = make_sku()
        b, _ = make_sku()
        fresh, _ = make_sku()
        put_stock(a, 10)
        put_stock(b, 4)
        counted = ok(post(client, keeper, "stock-count", {"lines": [
            {"sku": a_code, "counted": 8}, {"sku": b, "counted": 4}, {"sku": fresh, "counted": 2}]}))
        assert counted["doc_type"] == "stocktake"
        assert sorted((e["sku_id"], e["qty_on_hand"]) for e in counted["entries"]) == sorted([(a, "-2"), (fresh, "2")])
        assert stock_of(a) == (Decimal(8), Decimal(0)) and stock_of(fresh) == (Decimal(2), Decimal(0))
        ok(client.post("/function/order-create", json={"lines": [{"sku": a, "qty": 5}]}, headers=auth(reader)), 201)
        assert_error(post(client, keeper, "stock-count", {"lines": [{"sku": a, "counted": 4}]}), 409,
                     "insufficient_stock")
        ledger = ok(client.get("/function/stock-ledger", params={"sku": a, "type": "stocktake"}, headers=auth(keeper)))
        assert ledger["total"] == 1

    def test_bad_counts(self, client, keeper):
        assert_error(post(client, keeper, "stock-count", {"lines": [{"sku": "X", "counted": -1}]}), 422,
                     field="lines[0].counted")
        assert_error(post(client, keeper, "stock-count", {"lines": []}), 422, field="lines")


class TestQueries:
    def test_thresholds_and_low_stock(self, client, keeper, reader, make_sku, put_stock, main_warehouse):
        low, low_code = make_sku()
        plenty, _ = make_sku()
        put_stock(low, 3)
        put_stock(plenty, 50)
        set_all = ok(post(client, keeper, "stock-threshold", {"sku": low_code, "threshold": 5}))
        assert set_all["warehouse_id"] is None and set_all["low_stock_threshold"] == "5"
        ok(post(client, keeper, "stock-threshold", {"sku": plenty, "threshold": 60, "warehouse_id": main_warehouse}))
        ok(post(client, keeper, "stock-threshold", {"sku": plenty, "threshold": 10}))
        rows = ok(client.get("/function/stock-query", params={"low_stock": "true", "page_size": 200},
                             headers=auth(reader)))
        flagged = {r["sku_id"]: r for r in rows["items"]}
        assert low in flagged and plenty in flagged  # the warehouse's own threshold (60) wins over the SKU's (10)
        assert flagged[low]["low_stock"] is True and flagged[low]["low_stock_threshold"] == "5"
        by_code = ok(client.get("/function/stock-query", params={"sku": low_code}, headers=auth(reader)))
        assert by_code["total"] == 1 and by_code["items"][0]["available"] == "3"
        assert by_code["items"][0]["warehouse_code"] == "MAIN"
        by_warehouse = ok(client.get("/function/stock-query", params={"warehouse_id": main_warehouse, "sku": plenty},
                                     headers=auth(reader)))
        assert by_warehouse["items"][0]["on_hand"] == "50"
        assert_error(post(client, reader, "stock-threshold", {"sku": low, "threshold": 1}), 403)
        assert_error(post(client, keeper, "stock-threshold", {"sku": low, "threshold": -1}), 422, field="threshold")

    def test_ledger_filters_and_pages(self, client, keeper, make_sku):
        sku_id, code = make_sku()
        for quantity in (1, 2, 3):
            ok(post(client, keeper, "stock-adjust", {"sku": sku_id, "direction": "in", "quantity": quantity,
                                                      "reason": f"r{quantity}"}))
        page = ok(client.get("/function/stock-ledger", params={"sku": code, "page_size": 2}, headers=auth(keeper)))
        assert page["total"] == 3 and [e["qty_on_hand"] for e in page["items"]] == ["3", "2"]
        first = page["items"][1]["created_at"]
        later = ok(client.get("/function/stock-ledger", params={"sku": sku_id, "date_from": first},
                              headers=auth(keeper)))
        assert later["total"] == 2
        none = ok(client.get("/function/stock-ledger", params={"sku": sku_id, "type": "sale"}, headers=auth(keeper)))
        assert none["total"] == 0
        assert_error(client.get("/function/stock-ledger", params={"type": "theft"}, headers=auth(keeper)), 422,
                     field="type")
        assert_error(client.get("/function/stock-query", params={"page_size": 500}, headers=auth(keeper)), 422,
                     field="page_size")
        assert_error(client.get("/function/stock-query"), 401)


def test_the_ledger_always_sums_to_the_balance(stock_check):
    assert stock_check() == []


def test_erp_check_stock_command(capsys):
    from erp_local.cli import main

    assert main(["check", "stock"]) == 0
    assert "0 mismatches" in capsys.readouterr().out
