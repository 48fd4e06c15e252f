"""Manufacturing functions through the gateway over HTTP: BOMs (versions, multi-level, cycles refused),
work orders (create, release with every shortage listed, partial and full completion at the rolled-up
cost, cancel, get, list), the production plan (shortages, dates, draft POs per preferred supplier),
job-replenish, roles, bad input, idempotency and the seed paths; and the issue's end-to-end costing
test, computed by hand to the cent."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from tests.conftest import auth, unique
from tests.functions.test_identity import assert_error

D = Decimal


@pytest.fixture(scope="module")
def planner(make_user):
    return make_user("planner")[1]


@pytest.fixture(scope="module")
def boss(make_user):
    return make_user("manager")[1]


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def post(client, token, function, body=None, key=None):
    headers = auth(token)
    if key:
        headers["Idempotency-Key"] = key
    return client.post(f"/function/{function}", json=body if body is not None else {}, headers=headers)


def bom(client, token, sku, components, **extra) -> dict:
    return ok(post(client, token, "bom-create", {"sku": sku, "components": components, **extra}), 201)


def work_order(client, token, sku, quantity, **extra) -> dict:
    return ok(post(client, token, "workorder-create", {"sku": sku, "quantity": quantity, **extra}), 201)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


class TestBoms:
    def test_create_get_list_and_new_versions(self, client, planner, make_sku, make_user):
        (f, f_code), (a, a_code), (b, _) = make_sku(), make_sku(), make_sku()
        first = bom(client, planner, f_code, [{"sku": a_code, "qty_per_unit": 2}, {"sku": b, "qty": "0.5",
                                                                                   "scrap_pct": 10}],
                    labour_cost="1.5", overhead_cost="0.25")
        assert (first["sku_id"], first["version"], first["is_current"]) == (f, 1, True)
        assert [(c["line_no"], c["sku_id"], c["qty_per_unit"], c["scrap_pct"]) for c in first["components"]] == [
            (1, a, "2", "0.00"), (2, b, "0.5", "10.00")]
        assert (first["labour_cost"], first["overhead_cost"]) == ("1.50", "0.25")
        reader = make_user("accountant")[1]
        assert ok(client.get(f"/function/bom-get/{first['id']}", headers=auth(reader))) == first
        second = ok(post(client, planner, f"bom-update/{first['id']}", {"labour_cost": 2}), 201)
        assert (second["version"], second["is_current"], second["labour_cost"]) == (2, True, "2.00")
        assert [c["sku_id"] for c in second["components"]] == [a, b]  # kept from the version it came from
        assert ok(client.get(f"/function/bom-get/{first['id']}", headers=auth(reader)))["is_current"] is False
        current = ok(client.get("/function/bom-list", params={"sku": f_code}, headers=auth(reader)))
        assert [x["id"] for x in current["items"]] == [second["id"]]
        every = ok(client.get("/function/bom-list", params={"sku": f, "all_versions": "true"}, headers=auth(reader)))
        assert [x["version"] for x in every["items"]] == [2, 1]
        assert_error(post(client, planner, "bom-create", {"sku": f, "components": [{"sku": a, "qty": 1}]}), 409,
                     "bom_exists", "sku")

    @pytest.mark.parametrize("components, status, field", [
        ([], 422, "components"),
        ([{"sku": "NOPE-NOPE", "qty": 1}], 404, "components[0].sku"),
        ([{"sku": 1, "qty_per_unit": 0}], 422, "components[0].qty_per_unit"),
        ([{"sku": 1, "qty": "-1"}], 422, "components[0].qty"),
        ([{"sku": 1, "qty": 1, "scrap_pct": 100}], 422, "components[0].scrap_pct"),
        ([{"sku": 1, "qty": 1}, {"sku": 1, "qty": 2}], 422, "components[1].sku"),
        ([{"sku": 1}], 422, "components[0].qty_per_unit"),
    ])
    def test_bad_components_name_the_field(self, client, planner, make_sku, components, status, field):
        finished, (part, _) = make_sku(), make_sku()
        for c in components:
            if c.get("sku") == 1:
                c["sku"] = part
        assert_error(post(client, planner, "bom-create", {"sku": finished[0], "components": components}), status,
                     field=field)

    def test_bad_fields(self, client, planner, make_sku):
        (f, _), (a, _) = make_sku(), make_sku()
        comps = [{"sku": a, "qty": 1}]
        assert_error(post(client, planner, "bom-create", {"sku": f, "components": comps, "labour_cost": -1}), 422,
                     "validation_error", "labour_cost")
        assert_error(post(client, planner, "bom-create", {"components": comps}), 422, "validation_error", "sku")
        assert_error(post(client, planner, "bom-create", {"sku": "NOPE-X", "components": comps}), 404, field="sku")
        assert_error(client.get("/function/bom-get/999999999", headers=auth(planner)), 404, "not_found", "bom")
        assert_error(post(client, planner, "bom-update/999999999", {"labour_cost": 1}), 404, "not_found", "bom")

    def test_a_cycle_is_refused_naming_the_path(self, client, planner, make_sku):
        (a, a_code), (b, b_code), (c, c_code) = make_sku(), make_sku(), make_sku()
        bom(client, planner, a, [{"sku": b, "qty": 1}])  # A is made of B
        bom(client, planner, b, [{"sku": c, "qty": 1}])  # B is made of C
        error = assert_error(post(client, planner, "bom-create", {"sku": c, "components": [
            {"sku": make_sku()[0], "qty": 1}, {"sku": a, "qty": 1}]}), 422, "bom_cycle", "components[1].sku")
        assert error["details"][0]["path"] == [c_code, a_code, b_code, c_code]
        assert f"{c_code} -> {a_code} -> {b_code} -> {c_code}" in error["message"]
        itself = assert_error(post(client, planner, "bom-create", {"sku": c, "components": [{"sku": c, "qty": 1}]}),
                              422, "bom_cycle", "components[0].sku")
        assert itself["details"][0]["path"] == [c_code, c_code]
        current = ok(client.get("/function/bom-list", params={"sku": a}, headers=auth(planner)))["items"][0]
        assert_error(post(client, planner, f"bom-update/{current['id']}", {"components": [{"sku": a, "qty": 1}]}),
                     422, "bom_cycle", "components[0].sku")

    def test_roles(self, client, make_user, make_sku):
        (f, _), (a, _) = make_sku(), make_sku()
        for role in ("cashier", "purchaser"):
            token = make_user(role)[1]
            assert_error(post(client, token, "bom-create", {"sku": f, "components": [{"sku": a, "qty": 1}]}), 403,
                         "forbidden")
        assert client.get("/function/bom-list", headers=auth(make_user("purchaser")[1])).status_code == 200
        assert_error(client.get("/function/bom-list", headers=auth(make_user("cashier")[1])), 403, "forbidden")
        assert_error(client.get("/function/bom-list"), 401)


class TestWorkOrders:
    def test_release_reserves_and_lists_every_shortage(self, client, planner, make_sku, put_stock, stock_of):
        (f, f_code), (a, _), (b, _), (c, _) = make_sku(), make_sku(), make_sku(), make_sku()
        bom(client, planner, f, [{"sku": a, "qty": 2}, {"sku": b, "qty": 1, "scrap_pct": "12.5"},
                                 {"sku": c, "qty": 1}])
        put_stock(a, 5)
        put_stock(c, 100)
        wo = work_order(client, planner, f_code, 4, due_date="2026-12-24")
        assert wo["status"] == "draft" and wo["number"].startswith("WO") and wo["due_date"] == "2026-12-24"
        assert [x["qty_required"] for x in wo["components"]] == ["8", "4.5", "4"]  # 4 x 1 x 1.125 = 4.5
        error = assert_error(post(client, planner, f"workorder-release/{wo['id']}"), 409, "insufficient_stock")
        short = {d["field"]: (d["available"], d["requested"]) for d in error["details"]}
        assert short == {"components[0]": ("5", "8"), "components[1]": ("0", "4.5")}  # every shortage, not the first
        assert stock_of(c) == (D(100), D(0))  # nothing reserved
        put_stock(a, 3)
        put_stock(b, 5)
        released = ok(post(client, planner, f"workorder-release/{wo['number']}"))
        assert released["status"] == "released" and [x["qty_reserved"] for x in released["components"]] == [
            "8", "4.5", "4"]
        assert stock_of(a) == (D(8), D(8)) and stock_of(b) == (D(5), D("4.5"))
        assert_error(post(client, planner, f"workorder-release/{wo['id']}"), 409, "illegal_transition", "status")
        cancelled = ok(post(client, planner, f"workorder-cancel/{wo['id']}", {"reason": "no longer needed"}))
        assert cancelled["status"] == "cancelled" and all(x["qty_reserved"] == "0" for x in cancelled["components"])
        assert stock_of(a) == (D(8), D(0)) and stock_of(b) == (D(5), D(0))

    def test_partial_and_full_completion_issue_components_and_receive_goods(
            self, client, planner, boss, make_sku, stock_of, make_user):
        (f, f_code), (a, _), (b, _) = make_sku(), make_sku(), make_sku()
        supplier = ok(post(client, boss, "supplier-create", {"code": unique("SUP"), "name": "Parts"}), 201)
        for sku, qty, cost in ((a, 30, "1.10"), (b, 10, "0.35")):
            po = ok(post(client, boss, "po-create", {"supplier_id": supplier["id"],
                                                     "lines": [{"sku": sku, "qty": qty, "unit_cost": cost}]}), 201)
            ok(post(client, boss, f"po-approve/{po['id']}"))
            ok(post(client, boss, f"po-receive/{po['id']}"))
        first = bom(client, planner, f, [{"sku": a, "qty": 3}, {"sku": b, "qty": 1}], labour_cost="2.00")
        wo = work_order(client, planner, f, 3)
        assert wo["bom_id"] == first["id"]
        ok(post(client, planner, f"bom-update/{first['id']}", {"components": [{"sku": a, "qty": 1}]}), 201)
        ok(post(client, planner, f"workorder-release/{wo['id']}"))
        warehouse = make_user("warehouse")[1]
        key = unique("key")
        part = ok(post(client, warehouse, f"workorder-complete/{wo['id']}", {"qty": 1}, key))
        again = post(client, warehouse, f"workorder-complete/{wo['id']}", {"qty": 1}, key)
        assert again.headers["Idempotent-Replayed"] == "true" and again.json() == part
        # made with the version it was created with: 3 x 1.10 + 1 x 0.35 + 2.00 labour = 5.65 per unit
        assert part["status"] == "in_progress" and part["qty_done"] == "1"
        assert part["completions"][0]["unit_cost"] == "5.65"
        assert [(x["qty_issued"], x["qty_reserved"]) for x in part["components"]] == [("3", "6"), ("1", "2")]
        assert stock_of(f) == (D(1), D(0)) and stock_of(a) == (D(27), D(6))
        assert_error(post(client, planner, f"workorder-complete/{wo['id']}", {"qty": 3}), 409, "quantity_exceeded",
                     "qty")
        done = ok(post(client, planner, f"workorder-complete/{wo['id']}"))  # the rest
        assert done["status"] == "done" and done["qty_done"] == "3" and done["allowed_actions"] == []
        assert [(x["qty_issued"], x["qty_reserved"]) for x in done["components"]] == [("9", "0"), ("3", "0")]
        assert stock_of(f) == (D(3), D(0)) and stock_of(a) == (D(21), D(0)) and stock_of(b) == (D(7), D(0))
        assert_error(post(client, planner, f"workorder-cancel/{wo['id']}"), 409, "illegal_transition")
        cost = ok(client.get(f"/function/cost-sku/{f_code}", headers=auth(boss)))
        assert cost["unit_cost"] == "5.65" and cost["on_hand"] == "3"
        from sqlalchemy import select

        from erp_common.db import transaction
        from erp_common.inventory.models import StockLedgerEntry
        with transaction() as session:
            rows = session.execute(select(StockLedgerEntry.type, StockLedgerEntry.origin_type,
                                          StockLedgerEntry.origin_id).where(
                StockLedgerEntry.doc_type == "work_order", StockLedgerEntry.doc_id == wo["number"])).all()
        assert {r.type for r in rows} == {"reserve", "release", "issue", "receipt"}
        assert {(r.origin_type, r.origin_id) for r in rows} == {("work_order", str(wo["id"]))}

    def test_create_bad_input_get_list_and_roles(self, client, planner, make_sku, make_user):
        (f, f_code), (a, _), (g, _) = make_sku(), make_sku(), make_sku()
        other = bom(client, planner, g, [{"sku": a, "qty": 1}])
        assert_error(post(client, planner, "workorder-create", {"sku": f, "quantity": 1}), 409, "no_bom", "sku")
        bom(client, planner, f, [{"sku": a, "qty": 1}])
        assert_error(post(client, planner, "workorder-create", {"sku": f, "quantity": 1, "bom_id": other["id"]}), 422,
                     "validation_error", "bom_id")
        for body, field in (({"sku": f, "quantity": 0}, "quantity"), ({"quantity": 1}, "sku"),
                            ({"sku": f, "quantity": 1, "due_date": "soon"}, "due_date"),
                            ({"sku": f, "quantity": 1, "warehouse_id": 999999}, "warehouse_id"),
                            ({"sku": f, "quantity": 1, "bom_id": 999999999}, "bom_id")):
            response = post(client, planner, "workorder-create", body)
            assert response.status_code in (404, 422) and field in [d.get("field") for d in
                                                                   response.json()["error"]["details"]], response.text
        key = unique("key")
        first = post(client, planner, "workorder-create", {"sku": f, "quantity": 2}, key)
        again = post(client, planner, "workorder-create", {"sku": f, "quantity": 2}, key)
        assert first.status_code == again.status_code == 201 and again.json()["id"] == first.json()["id"]
        reader = make_user("purchaser")[1]
        wo = first.json()
        assert ok(client.get(f"/function/workorder-get/{wo['number']}", headers=auth(reader))) == wo
        listed = ok(client.get("/function/workorder-list", params={"sku": f_code, "status": "draft"},
                               headers=auth(reader)))
        assert [x["id"] for x in listed["items"]] == [wo["id"]]
        assert_error(client.get("/function/workorder-get/WO20000101999999", headers=auth(reader)), 404, "not_found",
                     "wo")
        assert_error(post(client, reader, f"workorder-release/{wo['id']}"), 403, "forbidden")
        assert_error(post(client, make_user("cashier")[1], "workorder-create", {"sku": f, "quantity": 1}), 403)
        assert_error(post(client, planner, f"workorder-complete/{wo['id']}"), 409, "illegal_transition")  # a draft
        assert ok(post(client, planner, f"workorder-cancel/{wo['id']}"))["status"] == "cancelled"

    def test_the_seed_paths_health_and_docs(self, client, planner):
        assert client.get("/production/workorder-list", headers=auth(planner)).status_code == 200
        assert client.get("/production/health").json()["status"] == "ok"
        assert client.get("/production/docs").status_code == 200
        paths = set(client.get("/production/openapi.json").json()["paths"])
        assert {"/function/bom-create", "/function/workorder-release/{wo}", "/function/production-plan"} <= paths


class TestPlan:
    def test_a_three_level_plan_nets_stock_and_open_pos_and_makes_draft_pos(
            self, client, planner, boss, make_sku, put_stock):
        (top, top_code), (sub, _), (p1, p1_code), (p2, _), (p3, _) = (make_sku() for _ in range(5))
        bom(client, planner, top, [{"sku": sub, "qty": 2}, {"sku": p1, "qty": 1}])
        bom(client, planner, sub, [{"sku": p1, "qty": 3}, {"sku": p2, "qty": 1, "scrap_pct": 10}])
        bom(client, planner, p2, [{"sku": p3, "qty": 4}])  # p2 is made too: a third level
        put_stock(top, 2)
        put_stock(sub, 5)
        put_stock(p1, 10)
        supplier = ok(post(client, boss, "supplier-create", {"code": unique("SUP"), "name": "Plan"}), 201)
        ok(post(client, boss, "sku-supplier-set", {"sku": p1, "supplier_id": supplier["id"], "is_preferred": True,
                                                   "last_price": "0.80", "lead_time_days": 3}))
        po = ok(post(client, boss, "po-create", {"supplier_id": supplier["id"],
                                                 "lines": [{"sku": p1, "qty": 7, "unit_cost": "0.80"}]}), 201)
        ok(post(client, boss, f"po-approve/{po['id']}"))
        body = {"demand": [{"sku": top_code, "qty": 12, "date": "2026-12-20"}]}
        plan = ok(post(client, planner, "production-plan", body))
        lines = {ln["sku_id"]: ln for ln in plan["lines"]}
        # top: 12 - 2 in stock = 10 to make -> sub 20, p1 10 (level 1)
        # sub: 20 - 5 = 15 to make -> p1 45 more (p1 is planned at its lowest level, 2), p2 15 x 1.1 = 16.5
        # p1: 10 + 45 = 55 - 10 in stock - 7 on order = 38 short; p2: 16.5 to make -> p3 66 (level 3), short 66
        assert {s: (ln["level"], ln["action"], ln["required"], ln["shortage"]) for s, ln in lines.items()} == {
            top: (0, "make", "12", "10"), sub: (1, "make", "20", "15"), p1: (2, "buy", "55", "38"),
            p2: (2, "make", "16.5", "16.5"), p3: (3, "buy", "66", "66")}
        assert lines[p1]["on_order"] == "7" and lines[p1]["available"] == "10"
        shortages = {ln["sku_id"]: ln for ln in plan["shortages"]}
        assert set(shortages) == {p1, p3} and shortages[p1]["needed_by"] == "2026-12-20"
        assert shortages[p1]["supplier_id"] == supplier["id"] and shortages[p1]["order_by"] == "2026-12-17"
        assert [ln["sku_id"] for ln in plan["without_supplier"]] == [p3]  # listed, not guessed
        assert plan["purchase_orders"] == []
        made = ok(post(client, planner, "production-plan", {**body, "create_pos": True}))
        (draft,) = made["purchase_orders"]
        assert (draft["supplier_id"], draft["lines"], draft["total_amount"]) == (supplier["id"], 1, "30.40")
        got = ok(client.get(f"/function/po-get/{draft['po_id']}", headers=auth(boss)))
        assert got["status"] == "draft" and got["lines"][0]["quantity"] == "38"
        again = ok(post(client, planner, "production-plan", {**body, "create_pos": True}))
        assert again["purchase_orders"] == []  # the draft counts as on order: nothing is ordered twice
        assert {ln["sku_id"]: ln["shortage"] for ln in again["lines"]}[p1] == "0"

    def test_work_orders_as_the_demand(self, client, planner, make_sku, put_stock):
        (f, _), (a, _) = make_sku(), make_sku()
        bom(client, planner, f, [{"sku": a, "qty": 2}])
        put_stock(a, 5)
        wo = work_order(client, planner, f, 4, due_date="2026-12-10")
        plan = ok(post(client, planner, "production-plan", {"work_orders": [wo["number"]]}))
        assert [(ln["sku_id"], ln["level"], ln["required"], ln["shortage"], ln["needed_by"]) for ln in plan["lines"]] \
            == [(a, 1, "8", "3", "2026-12-10")]
        put_stock(a, 3)
        ok(post(client, planner, f"workorder-release/{wo['id']}"))
        assert_error(post(client, planner, "production-plan", {"work_orders": [wo["id"]]}), 409, "not_a_draft",
                     "work_orders[0]")

    def test_a_3_level_bom_of_200_components_for_50_units(self, client, planner, make_sku, put_stock):
        """The issue's plan, checked against shortages worked out here by formula: the goods are made of
        10 sub-assemblies (x1), each of 3 sub-sub-assemblies (x2) and one bought part (x1); each
        sub-sub-assembly of 5 bought parts (x1..x5, 5% scrap): 10 + 30 + 10 + 150 = 200 components."""
        top = make_sku()[0]
        l1 = [make_sku()[0] for _ in range(10)]
        l2 = [make_sku()[0] for _ in range(30)]
        extra = [make_sku()[0] for _ in range(10)]
        parts = [make_sku()[0] for _ in range(150)]
        bom(client, planner, top, [{"sku": s, "qty": 1} for s in l1])
        for i, s in enumerate(l1):
            bom(client, planner, s, [{"sku": x, "qty": 2} for x in l2[3 * i:3 * i + 3]] + [{"sku": extra[i], "qty": 1}])
        for j, s in enumerate(l2):
            bom(client, planner, s, [{"sku": p, "qty": k + 1, "scrap_pct": 5}
                                     for k, p in enumerate(parts[5 * j:5 * j + 5])])
        put_stock(l1[0], 10)  # the first sub-assembly needs only 40 made
        for j in range(30):
            put_stock(parts[5 * j], 100)  # every first part has 100
        plan = ok(post(client, planner, "production-plan", {"demand": [{"sku": top, "qty": 50, "date": "2027-01-15"}]}))
        expected = {}
        for i in range(10):
            made = 50 - (10 if i == 0 else 0)
            expected[extra[i]] = D(made)
            for j in range(3 * i, 3 * i + 3):
                for k in range(5):  # 2 x made x (k + 1) x 1.05, less the 100 of every first part
                    short = 2 * made * (k + 1) * D("1.05") - (100 if k == 0 else 0)
                    if short > 0:
                        expected[parts[5 * j + k]] = short
        got = {ln["sku_id"]: D(ln["shortage"]) for ln in plan["shortages"]}
        assert got == expected and len(got) == 157  # the 3 first parts under the first sub-assembly are covered
        assert len(plan["lines"]) == 201 and max(ln["level"] for ln in plan["lines"]) == 3
        assert all(ln["needed_by"] == "2027-01-15" for ln in plan["shortages"])

    @pytest.mark.parametrize("body, status, field", [
        ({}, 422, "body"),
        ({"demand": [{"sku": "NOPE-1", "qty": 1, "date": "2026-12-01"}]}, 404, "demand[0].sku"),
        ({"demand": [{"sku": 1, "qty": 0, "date": "2026-12-01"}]}, 422, "demand[0].qty"),
        ({"demand": [{"sku": 1, "qty": 1}]}, 422, "demand[0].date"),
        ({"work_orders": [999999999]}, 404, "work_orders[0]"),
        ({"demand": [{"sku": 1, "qty": 1, "date": "2026-12-01"}], "warehouse_id": 999999}, 404, "warehouse_id"),
    ])
    def test_bad_input_names_the_field(self, client, planner, body, status, field):
        assert_error(post(client, planner, "production-plan", body), status, field=field)


class TestReplenish:
    def test_low_stock_gets_draft_pos_or_a_suggestion_and_a_second_run_orders_nothing(
            self, client, boss, admin_token, make_sku, put_stock):
        (a, _), (b, b_code) = make_sku(), make_sku()
        supplier = ok(post(client, boss, "supplier-create", {"code": unique("SUP"), "name": "Refill"}), 201)
        ok(post(client, boss, "sku-supplier-set", {"sku": a, "supplier_id": supplier["id"], "is_preferred": True,
                                                   "last_price": "2.00"}))
        for sku in (a, b):
            put_stock(sku, 3)
            ok(post(client, boss, "stock-threshold", {"sku": sku, "threshold": 5}))
        run = ok(client.post("/function/job-replenish", headers=auth(admin_token)))
        assert run["status"] == "succeeded"
        ordered = client.get("/function/po-list", params={"sku": a, "status": "draft"}, headers=auth(boss)).json()
        assert ordered["total"] == 1
        po = ok(client.get(f"/function/po-get/{ordered['items'][0]['id']}", headers=auth(boss)))
        assert (po["supplier_id"], po["lines"][0]["quantity"], po["lines"][0]["unit_cost"]) == (
            supplier["id"], "7", "2.00")  # back to twice the threshold: 10 - 3
        assert {"sku_id": b, "sku_code": b_code, "warehouse_id": po["warehouse_id"], "qty": "7"} in \
            run["summary"]["suggestions"]
        ok(client.post("/function/job-replenish", headers=auth(admin_token)))
        assert client.get("/function/po-list", params={"sku": a}, headers=auth(boss)).json()["total"] == 1
        runs = ok(client.get("/function/job-run-list", params={"job": "job-replenish"}, headers=auth(admin_token)))
        assert runs["total"] >= 2 and runs["items"][0]["status"] == "succeeded"


class TestEndToEndCosting:
    """The issue's test, by hand: buy components at two prices, make in two partial completions, sell,
    ship, return one, value at a date between the receipts. Every figure below is worked out by hand."""

    def test_by_hand_to_the_cent(self, client, boss, make_sku, make_user):
        started = now_iso()
        (f, f_code), (c1, c1_code), (c2, _) = make_sku("100.00"), make_sku(), make_sku()
        supplier = ok(post(client, boss, "supplier-create", {"code": unique("SUP"), "name": "E2E"}), 201)

        def buy(sku, qty, cost):
            po = ok(post(client, boss, "po-create", {"supplier_id": supplier["id"],
                                                     "lines": [{"sku": sku, "qty": qty, "unit_cost": cost}]}), 201)
            ok(post(client, boss, f"po-approve/{po['id']}"))
            ok(post(client, boss, f"po-receive/{po['id']}", key=str(uuid.uuid4())))

        buy(c1, 10, "2.00")
        between = now_iso()
        buy(c1, 10, "2.60")  # C1: (10 x 2.00 + 10 x 2.60) / 20 = 2.30
        buy(c2, 8, "1.25")  # C2: 1.25
        assert ok(client.get(f"/function/cost-sku/{c1_code}", headers=auth(boss)))["unit_cost"] == "2.30"

        bom(client, boss, f, [{"sku": c1, "qty": 2}, {"sku": c2, "qty": 1}], labour_cost="3.00",
            overhead_cost="0.50")
        wo = work_order(client, boss, f, 5)  # needs C1 10, C2 5
        ok(post(client, boss, f"workorder-release/{wo['id']}"))
        first = ok(post(client, boss, f"workorder-complete/{wo['id']}", {"qty": 2}))
        # C1 4 x 2.30 = 9.20, C2 2 x 1.25 = 2.50: 11.70 / 2 = 5.85 + 3.50 = 9.35 a unit
        assert first["completions"][0]["unit_cost"] == "9.35"
        buy(c1, 10, "3.00")  # C1: 16 on hand at 2.30 + 10 at 3.00 = 66.80 / 26 = 2.569230... -> 2.5692
        done = ok(post(client, boss, f"workorder-complete/{wo['id']}", {"qty": 3}))
        # C1 6 x 2.5692 = 15.4152, C2 3 x 1.25 = 3.75: 19.1652 / 3 = 6.3884 + 3.50 = 9.8884 a unit
        assert done["status"] == "done" and done["completions"][1]["unit_cost"] == "9.8884"
        issued = sum(D(c["qty"]) * D(c["unit_cost"]) for x in done["completions"] for c in x["components"])
        made = sum(D(x["quantity"]) * D(x["unit_cost"]) for x in done["completions"])
        assert issued == D("30.8652") and made == issued + 5 * D("3.50") == D("48.3652")
        f_cost = ok(client.get(f"/function/cost-sku/{f_code}", headers=auth(boss)))
        assert (f_cost["unit_cost"], f_cost["value"]) == ("9.673", "48.37")  # 48.3652 / 5 = 9.67304

        cashier = make_user("cashier")[1]
        order = ok(post(client, cashier, "order-create", {"lines": [{"sku": f, "qty": 4}]}), 201)
        ok(post(client, cashier, f"order-pay/{order['id']}", {"amount": "400.00"}))
        ok(post(client, cashier, f"order-ship/{order['id']}"))  # COGS 4 x 9.6730 = 38.692 -> 38.69
        ok(post(client, cashier, f"order-return/{order['id']}", {"lines": [{"sku": f, "qty": 1}]}))  # -9.67
        accountant = make_user("accountant")[1]
        rows = ok(client.get("/function/cost-valuation", headers=auth(accountant)))["rows"]
        category = next(r["category_id"] for r in rows if r["sku_id"] == f)
        margin = ok(client.get("/function/cost-margin", params={"date_from": started, "category_id": category},
                               headers=auth(accountant)))
        (row,) = margin["skus"]
        # 3 sold: revenue 400.00 - 100.00 = 300.00; COGS 38.69 - 9.67 = 29.02; margin 270.98 = 90.33 %
        assert (row["qty_sold"], row["revenue"], row["cogs"], row["gross_margin"], row["margin_pct"]) == (
            "3", "300.00", "29.02", "270.98", "90.33")
        c1_category = next(r["category_id"] for r in rows if r["sku_id"] == c1)
        then = ok(client.get("/function/cost-valuation", params={"as_of": between, "category_id": c1_category},
                             headers=auth(accountant)))
        assert [(r["on_hand"], r["unit_cost"], r["value"]) for r in then["rows"]] == [("10", "2.00", "20.00")]
        now = {r["sku_id"]: r for r in ok(client.get("/function/cost-valuation", headers=auth(accountant)))["rows"]}
        # F: 5 - 4 + 1 = 2 at 9.6730 = 19.346 -> 19.35; C1: 30 - 10 = 20 at 2.5692 = 51.384 -> 51.38; C2: 3 x 1.25
        assert (now[f]["on_hand"], now[f]["value"]) == ("2", "19.35")
        assert (now[c1]["on_hand"], now[c1]["value"]) == ("20", "51.38")
        assert (now[c2]["on_hand"], now[c2]["value"]) == ("3", "3.75")
