"""Costing functions through the gateway over HTTP: cost-sku, cost-valuation, cost-margin (JSON and CSV),
computed by hand to the cent from purchases, a sale, a shipment and a return; bad input, roles, seed paths.

Rounding under test: unit costs to 4 places and amounts to the cent, both half up (costing/services.py).
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest

from tests.conftest import auth, unique
from tests.functions.test_identity import assert_error


@pytest.fixture(scope="module")
def accountant(make_user):
    return make_user("accountant")[1]


@pytest.fixture(scope="module")
def boss(make_user):
    return make_user("manager")[1]


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def post(client, token, function, body=None):
    return client.post(f"/function/{function}", json=body or {}, headers=auth(token))


def buy(client, token, supplier_id, sku_id, qty, unit_cost) -> dict:
    po = ok(post(client, token, "po-create", {"supplier_id": supplier_id,
                                             "lines": [{"sku": sku_id, "qty": qty, "unit_cost": unit_cost}]}), 201)
    ok(post(client, token, f"po-approve/{po['id']}"))
    return ok(post(client, token, f"po-receive/{po['id']}"))


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def category_of(client, token, sku_id) -> int:
    rows = ok(client.get("/function/cost-valuation", headers=auth(token)))["rows"]
    return next(r["category_id"] for r in rows if r["sku_id"] == sku_id)


class TestBuySellReturn:
    def test_average_valuation_cogs_and_margin_to_the_cent(self, client, boss, accountant, make_sku, make_user):
        started = now_iso()
        sku_id, code = make_sku("25.00")
        supplier = ok(post(client, boss, "supplier-create", {"code": unique("SUP"), "name": "Cost test"}), 201)
        buy(client, boss, supplier["id"], sku_id, 10, "4.10")  # average 4.1000
        between = now_iso()
        buy(client, boss, supplier["id"], sku_id, 20, "5.35")  # (10 x 4.10 + 20 x 5.35) / 30 = 4.93333 -> 4.9333
        cost = ok(client.get(f"/function/cost-sku/{code}", headers=auth(accountant)))
        assert (cost["unit_cost"], cost["on_hand"], cost["value"]) == ("4.9333", "30", "148.00")  # 147.999
        assert [(h["unit_cost_before"], h["cost_in"], h["unit_cost"]) for h in cost["history"]] == [
            ("4.10", "5.35", "4.9333"), (None, "4.10", "4.10")]
        assert ok(client.get(f"/function/cost-sku/{sku_id}", headers=auth(accountant)))["sku_code"] == code

        cashier = make_user("cashier")[1]
        order = ok(post(client, cashier, "order-create", {"lines": [{"sku": sku_id, "qty": 7}]}), 201)
        ok(post(client, cashier, f"order-pay/{order['id']}", {"amount": order["total_amount"]}))
        ok(post(client, cashier, f"order-ship/{order['id']}"))  # COGS 7 x 4.9333 = 34.5331 -> 34.53
        ok(post(client, cashier, f"order-return/{order['id']}", {"lines": [{"sku": sku_id, "qty": 2}]}))
        # back at the cost it went out at: 2 x 4.9333 = 9.8666 -> 9.87; the average stays 4.9333

        category = category_of(client, accountant, sku_id)
        margin = ok(client.get("/function/cost-margin", params={"date_from": started, "category_id": category},
                               headers=auth(accountant)))
        (row,) = margin["skus"]
        figures = ("5", "125.00", "24.66", "100.34", "80.27")  # 175.00 - 50.00; 34.53 - 9.87; 100.34 / 125
        assert (row["qty_sold"], row["revenue"], row["cogs"], row["gross_margin"], row["margin_pct"]) == figures
        (cat,) = margin["categories"]
        assert (cat["qty_sold"], cat["revenue"], cat["cogs"], cat["gross_margin"], cat["margin_pct"]) == figures
        assert (margin["revenue"], margin["cogs"], margin["gross_margin"]) == ("125.00", "24.66", "100.34")
        assert ok(client.get("/function/cost-sku/" + code, headers=auth(accountant)))["unit_cost"] == "4.9333"

        then = ok(client.get("/function/cost-valuation", params={"as_of": between, "category_id": category},
                             headers=auth(accountant)))
        assert [(r["on_hand"], r["unit_cost"], r["value"]) for r in then["rows"]] == [("10", "4.10", "41.00")]
        assert then["total_value"] == "41.00" and then["by_category"][0]["value"] == "41.00"
        current = ok(client.get("/function/cost-valuation", params={"category_id": category}, headers=auth(boss)))
        # 30 - 7 + 2 = 25 on hand x 4.9333 = 123.3325 -> 123.33
        assert [(r["on_hand"], r["value"]) for r in current["rows"]] == [("25", "123.33")]
        assert current["by_warehouse"][0]["name"] == "MAIN" and current["total_value"] == "123.33"

        as_csv = client.get("/function/cost-margin", params={"date_from": started, "category_id": category,
                                                             "format": "csv"}, headers=auth(accountant))
        assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
        lines = list(csv.reader(io.StringIO(as_csv.text)))
        assert lines[0][:2] == ["sku_id", "sku_code"] and lines[1][4:] == list(figures)
        value_csv = client.get("/function/cost-valuation", params={"as_of": between, "category_id": category,
                                                                   "format": "csv"}, headers=auth(accountant))
        assert list(csv.reader(io.StringIO(value_csv.text)))[1][5:] == ["10", "4.10", "41.00"]


class TestInputAndRoles:
    @pytest.mark.parametrize("function, params, field", [
        ("cost-valuation", {"as_of": "yesterday"}, "as_of"),
        ("cost-valuation", {"format": "xml"}, "format"),
        ("cost-valuation", {"warehouse_id": "0"}, "warehouse_id"),
        ("cost-margin", {"date_from": "2026-13-01"}, "date_from"),
        ("cost-margin", {"colour": "red"}, "colour"),
        ("cost-sku/1", {"history": "-1"}, "history"),
    ])
    def test_bad_input_is_422_naming_the_field(self, client, accountant, function, params, field):
        assert_error(client.get(f"/function/{function}", params=params, headers=auth(accountant)), 422,
                     "validation_error", field)

    def test_an_unknown_sku_is_404_and_one_without_cost_has_none(self, client, accountant, make_sku):
        assert_error(client.get("/function/cost-sku/NO-SUCH-SKU", headers=auth(accountant)), 404, "unknown_sku", "sku")
        sku_id, _ = make_sku()
        fresh = ok(client.get(f"/function/cost-sku/{sku_id}", headers=auth(accountant)))
        assert (fresh["unit_cost"], fresh["on_hand"], fresh["value"], fresh["history"]) == (None, "0", None, [])

    def test_roles_and_seed_paths(self, client, make_user, accountant):
        for role in ("cashier", "planner", "purchaser"):
            token = make_user(role)[1]
            assert_error(client.get("/function/cost-valuation", headers=auth(token)), 403, "forbidden")
        assert_error(client.get("/function/cost-margin"), 401)
        assert client.get("/cost/cost-margin", headers=auth(accountant)).status_code == 200
        assert client.get("/cost/health").json()["status"] == "ok"
        assert client.get("/cost/docs").status_code == 200
        spec = client.get("/cost/openapi.json").json()
        assert set(spec["paths"]) == {"/function/cost-sku/{sku}", "/function/cost-valuation", "/function/cost-margin"}
