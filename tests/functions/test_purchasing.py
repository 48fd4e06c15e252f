"""Purchasing functions through the gateway over HTTP: suppliers, a SKU's suppliers, purchase orders
(create, get, list, update, approve with the purchaser's limit, cancel, receive with the over-receipt
tolerance, close), roles, bad input, idempotency and the seed paths."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import auth, unique
from tests.functions.test_identity import assert_error


@pytest.fixture(scope="module")
def purchaser(make_user):
    return make_user("purchaser")[1]


@pytest.fixture(scope="module")
def manager(make_user):
    return make_user("manager")[1]


def create(client, token, body, key=None):
    headers = auth(token)
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/function/supplier-create", json=body, headers=headers)


def post(client, token, function, body=None, key=None):
    headers = auth(token)
    if key:
        headers["Idempotency-Key"] = key
    return client.post(f"/function/{function}", json=body or {}, headers=headers)


def ok(response, status=200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
def supplier(client, purchaser) -> dict:
    return ok(create(client, purchaser, {"code": unique("SUP"), "name": "Main supplier"}), 201)


def new_po(client, token, supplier_id, lines, **extra) -> dict:
    return ok(post(client, token, "po-create", {"supplier_id": supplier_id, "lines": lines, **extra}), 201)


def ledger_rows(number: str) -> list:
    from sqlalchemy import select

    from erp_common.db import transaction
    from erp_common.inventory.models import StockLedgerEntry

    with transaction() as session:
        return list(session.execute(select(StockLedgerEntry.type, StockLedgerEntry.sku_id, StockLedgerEntry.qty_on_hand,
                                           StockLedgerEntry.origin_type, StockLedgerEntry.origin_id)
                                    .where(StockLedgerEntry.doc_type == "purchase_order",
                                           StockLedgerEntry.doc_id == number).order_by(StockLedgerEntry.id)))


class TestSuppliers:
    def test_create_then_find_it_in_the_list(self, client, purchaser):
        code = unique("SUP")
        response = create(client, purchaser, {"code": code, "name": "华南纺织 Textiles", "phone": "+86 20 1234 5678",
                                              "email": "sales@textiles.example", "payment_terms": "NET30"})
        assert response.status_code == 201, response.text
        supplier = response.json()
        assert supplier["code"] == code and supplier["is_active"] is True and supplier["payment_terms"] == "NET30"
        assert supplier["created_at"].endswith("Z")
        listed = client.get("/function/supplier-list", params={"q": code}, headers=auth(purchaser)).json()
        assert listed["total"] == 1 and listed["items"][0]["id"] == supplier["id"]
        by_name = client.get("/function/supplier-list", params={"q": "华南纺织"}, headers=auth(purchaser)).json()
        assert by_name["total"] >= 1

    def test_a_taken_code_is_409_naming_the_field(self, client, purchaser):
        code = unique("SUP")
        assert create(client, purchaser, {"code": code, "name": "A"}).status_code == 201
        assert_error(create(client, purchaser, {"code": code, "name": "B"}), 409, "supplier_code_taken", "code")

    def test_a_retry_with_the_same_key_creates_nothing_twice(self, client, purchaser):
        body, key = {"code": unique("SUP"), "name": "Retry Ltd"}, unique("key")
        first, again = create(client, purchaser, body, key), create(client, purchaser, body, key)
        assert first.status_code == again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]

    @pytest.mark.parametrize("body, field", [
        ({"name": "no code"}, "code"),
        ({"code": "has space", "name": "x"}, "code"),
        ({"code": "OK1", "name": ""}, "name"),
        ({"code": "OK2", "name": "x", "email": "not-an-email"}, "email"),
        ({"code": "OK3", "name": "x", "colour": "red"}, "colour"),
    ])
    def test_bad_input_is_422_naming_the_field(self, client, purchaser, body, field):
        assert_error(create(client, purchaser, body), 422, "validation_error", field)

    def test_get_by_id_or_code_and_update(self, client, purchaser, make_user):
        supplier = ok(create(client, purchaser, {"code": unique("SUP"), "name": "Old name"}), 201)
        reader = make_user("planner")[1]
        by_id = ok(client.get(f"/function/supplier-get/{supplier['id']}", headers=auth(reader)))
        by_code = ok(client.get(f"/function/supplier-get/{supplier['code']}", headers=auth(reader)))
        assert by_id == by_code == supplier
        changed = ok(post(client, purchaser, f"supplier-update/{supplier['id']}",
                          {"name": "New name", "contact_name": "Li Wei", "payment_terms": "COD", "is_active": False}))
        assert (changed["name"], changed["contact_name"], changed["payment_terms"], changed["is_active"]) == \
               ("New name", "Li Wei", "COD", False)
        assert changed["code"] == supplier["code"] and changed["phone"] == supplier["phone"]
        inactive = client.get("/function/supplier-list", params={"q": supplier["code"], "is_active": "false"},
                              headers=auth(reader)).json()
        assert inactive["total"] == 1
        assert_error(client.get("/function/supplier-get/999999999", headers=auth(reader)), 404, "not_found", "supplier")
        assert_error(post(client, purchaser, f"supplier-update/{supplier['id']}", {"email": "bad"}), 422,
                     "validation_error", "email")
        assert_error(post(client, purchaser, f"supplier-update/{supplier['id']}", {"code": "X"}), 422,
                     "validation_error", "code")
        assert_error(post(client, reader, f"supplier-update/{supplier['id']}", {"name": "x"}), 403, "forbidden")

    def test_roles(self, client, make_user):
        cashier = make_user("cashier")[1]
        assert_error(create(client, cashier, {"code": unique("SUP"), "name": "x"}), 403, "forbidden")
        assert_error(client.get("/function/supplier-list", headers=auth(cashier)), 403, "forbidden")
        accountant = make_user("accountant")[1]
        assert client.get("/function/supplier-list", headers=auth(accountant)).status_code == 200
        assert_error(client.get("/function/supplier-list"), 401)

    def test_the_seed_paths_health_and_docs(self, client, purchaser):
        response = client.post("/purchase/supplier-create", json={"code": unique("SUP"), "name": "Seed path"},
                               headers=auth(purchaser))
        assert response.status_code == 201, response.text
        assert client.get("/purchase/health").json()["status"] == "ok"
        assert client.get("/purchase/docs").status_code == 200
        spec = client.get("/purchase/openapi.json").json()
        assert {"/function/supplier-create", "/function/po-create", "/function/po-receive/{po}",
                "/function/sku-supplier-set"} <= set(spec["paths"])
        po = client.get("/purchase/po-list", headers=auth(purchaser))
        assert po.status_code == 200, po.text


class TestSkuSuppliers:
    def test_set_change_prefer_one_and_remove(self, client, purchaser, make_sku):
        sku_id, code = make_sku("50.00")
        a = ok(create(client, purchaser, {"code": unique("SUP"), "name": "A"}), 201)
        b = ok(create(client, purchaser, {"code": unique("SUP"), "name": "B"}), 201)
        first = ok(post(client, purchaser, "sku-supplier-set", {
            "sku": code, "supplier_id": a["id"], "supplier_sku_code": "A-77", "last_price": "12.3456",
            "lead_time_days": 5, "is_preferred": True}))
        assert first["sku_id"] == sku_id and len(first["suppliers"]) == 1
        assert first["suppliers"][0] | {"updated_at": None} == {
            "supplier_id": a["id"], "supplier_code": a["code"], "supplier_name": "A", "supplier_sku_code": "A-77",
            "last_price": "12.3456", "lead_time_days": 5, "is_preferred": True, "updated_at": None}
        both = ok(post(client, purchaser, "sku-supplier-set", {"sku": sku_id, "supplier_id": b["id"],
                                                               "is_preferred": True, "lead_time_days": 2}))
        preferred = [s["supplier_id"] for s in both["suppliers"] if s["is_preferred"]]
        assert preferred == [b["id"]] and both["suppliers"][0]["supplier_id"] == b["id"]  # one preferred, first
        assert both["suppliers"][1]["last_price"] == "12.3456"
        removed = ok(post(client, purchaser, "sku-supplier-set", {"sku": sku_id, "supplier_id": b["id"],
                                                                  "remove": True}))
        assert [s["supplier_id"] for s in removed["suppliers"]] == [a["id"]]
        assert_error(post(client, purchaser, "sku-supplier-set", {"sku": sku_id, "supplier_id": b["id"],
                                                                  "remove": True}), 404, "not_found", "supplier_id")

    @pytest.mark.parametrize("body, status, field", [
        ({"sku": "NO-SUCH-SKU", "supplier_id": 1}, 404, "sku"),
        ({"sku": 1, "supplier_id": 999999999}, 404, "supplier_id"),
        ({"sku": 1, "supplier_id": 1, "last_price": "-1"}, 422, "last_price"),
        ({"sku": 1, "supplier_id": 1, "lead_time_days": -2}, 422, "lead_time_days"),
        ({"supplier_id": 1}, 422, "sku"),
    ])
    def test_bad_input_names_the_field(self, client, purchaser, supplier, make_sku, body, status, field):
        sku_id, _ = make_sku()
        body = {**body, "sku": sku_id if body.get("sku") == 1 else body.get("sku")} if "sku" in body else body
        if body.get("supplier_id") == 1:
            body["supplier_id"] = supplier["id"]
        assert_error(post(client, purchaser, "sku-supplier-set", body), status, field=field)


class TestPurchaseOrders:
    def test_create_get_list_and_update_a_draft(self, client, purchaser, supplier, make_sku, make_user):
        (_, a_code), (b, _) = make_sku(), make_sku()
        po = new_po(client, purchaser, supplier["id"], [
            {"sku": a_code, "qty": 3, "unit_cost": "10.005"}, {"sku": b, "quantity": "2.5", "unit_cost": 4}],
            expected_date="2026-12-20T00:00:00Z", note="first")
        assert po["status"] == "draft" and po["number"].startswith("PO") and po["warehouse_id"] >= 1
        assert [ln["amount"] for ln in po["lines"]] == ["30.02", "10.00"]  # 30.015 rounds half up
        assert po["total_amount"] == "40.02" and po["expected_at"] == "2026-12-20T00:00:00Z"
        assert po["allowed_actions"] == ["update", "approve", "cancel"]
        reader = make_user("accountant")[1]
        assert ok(client.get(f"/function/po-get/{po['number']}", headers=auth(reader))) == po
        assert ok(client.get(f"/function/po-get/{po['id']}", headers=auth(reader))) == po
        listed = ok(client.get("/function/po-list", params={"sku": a_code, "status": "draft"}, headers=auth(reader)))
        assert [p["id"] for p in listed["items"]] == [po["id"]]
        by_supplier = ok(client.get("/function/po-list", params={"supplier_id": supplier["id"]}, headers=auth(reader)))
        assert po["id"] in [p["id"] for p in by_supplier["items"]]
        changed = ok(post(client, purchaser, f"po-update/{po['id']}",
                          {"lines": [{"sku": b, "qty": 1, "unit_cost": "7.5"}], "note": "second"}))
        assert [(ln["line_no"], ln["sku_id"]) for ln in changed["lines"]] == [(1, b)]
        assert changed["total_amount"] == "7.50" and changed["note"] == "second"
        assert changed["expected_at"] == "2026-12-20T00:00:00Z"

    @pytest.mark.parametrize("body, status, field", [
        ({"supplier_id": None, "lines": [{"sku": 1, "qty": 1, "unit_cost": 1}]}, 422, "supplier_id"),
        ({"supplier_id": 0, "lines": []}, 422, "supplier_id"),
        ({"lines": []}, 422, "lines"),
        ({"lines": [{"sku": "NOPE", "qty": 1, "unit_cost": 1}]}, 404, "lines[0].sku"),
        ({"lines": [{"sku": 1, "qty": 0, "unit_cost": 1}]}, 422, "lines[0].qty"),
        ({"lines": [{"sku": 1, "qty": 1, "unit_cost": "-1"}]}, 422, "lines[0].unit_cost"),
        ({"lines": [{"sku": 1, "qty": 1, "unit_cost": "1.00001"}]}, 422, "lines[0].unit_cost"),
        ({"lines": [{"sku": 1, "qty": 1}]}, 422, "lines[0].unit_cost"),
        ({"lines": [{"sku": 1, "qty": 1, "unit_cost": 1}, {"sku": 1, "qty": 2, "unit_cost": 1}]}, 422, "lines[1].sku"),
        ({"lines": [{"sku": 1, "qty": 1, "unit_cost": 1}], "warehouse_id": 999999}, 404, "warehouse_id"),
        ({"lines": [{"sku": 1, "qty": 1, "unit_cost": 1}], "over_receipt_pct": 101}, 422, "over_receipt_pct"),
        ({"lines": [{"sku": 1, "qty": 1, "unit_cost": 1}], "colour": "red"}, 422, "colour"),
    ])
    def test_bad_input_names_the_field(self, client, purchaser, supplier, make_sku, body, status, field):
        sku_id, _ = make_sku()
        body = {"supplier_id": supplier["id"], **body}
        for line in body.get("lines", []):
            if line.get("sku") == 1:
                line["sku"] = sku_id
        assert_error(post(client, purchaser, "po-create", body), status, field=field)

    def test_an_unknown_or_inactive_supplier(self, client, purchaser, make_sku):
        sku_id, _ = make_sku()
        lines = [{"sku": sku_id, "qty": 1, "unit_cost": 1}]
        assert_error(post(client, purchaser, "po-create", {"supplier_id": 999999999, "lines": lines}), 404,
                     "not_found", "supplier_id")
        gone = ok(create(client, purchaser, {"code": unique("SUP"), "name": "Gone"}), 201)
        ok(post(client, purchaser, f"supplier-update/{gone['id']}", {"is_active": False}))
        assert_error(post(client, purchaser, "po-create", {"supplier_id": gone["id"], "lines": lines}), 409,
                     "supplier_inactive", "supplier_id")

    def test_approve_within_the_purchasers_limit_and_a_manager_above_it(self, client, purchaser, manager,
                                                                       supplier, make_sku):
        sku_id, _ = make_sku()
        small = new_po(client, purchaser, supplier["id"], [{"sku": sku_id, "qty": 10, "unit_cost": "500"}])
        approved = ok(post(client, purchaser, f"po-approve/{small['id']}"))  # 5000.00: the limit itself
        assert approved["status"] == "approved" and approved["approved_at"].endswith("Z")
        big = new_po(client, purchaser, supplier["id"], [{"sku": sku_id, "qty": 10, "unit_cost": "500.01"}])
        assert_error(post(client, purchaser, f"po-approve/{big['id']}"), 403, "approval_limit_exceeded",
                     "total_amount")
        assert ok(post(client, manager, f"po-approve/{big['id']}"))["status"] == "approved"
        # An approved PO can no longer be edited or approved again.
        error = assert_error(post(client, purchaser, f"po-update/{big['id']}", {"note": "x"}), 409,
                             "illegal_transition", "status")
        assert error["details"][0]["allowed_actions"] == ["receive", "cancel"]
        assert_error(post(client, manager, f"po-approve/{big['id']}"), 409, "illegal_transition")

    def test_approve_with_a_key_replays(self, client, purchaser, supplier, make_sku):
        sku_id, _ = make_sku()
        po = new_po(client, purchaser, supplier["id"], [{"sku": sku_id, "qty": 1, "unit_cost": "1"}])
        key = unique("key")
        first = post(client, purchaser, f"po-approve/{po['id']}", key=key)
        again = post(client, purchaser, f"po-approve/{po['id']}", key=key)
        assert first.status_code == again.status_code == 200
        assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()

    def test_create_with_a_key_replays(self, client, purchaser, supplier, make_sku):
        sku_id, _ = make_sku()
        body, key = {"supplier_id": supplier["id"], "lines": [{"sku": sku_id, "qty": 1, "unit_cost": 1}]}, unique("k")
        first, again = post(client, purchaser, "po-create", body, key), post(client, purchaser, "po-create", body, key)
        assert first.status_code == again.status_code == 201 and again.json()["id"] == first.json()["id"]
        listed = client.get("/function/po-list", params={"sku": sku_id}, headers=auth(purchaser)).json()
        assert listed["total"] == 1


class TestReceipts:
    def test_partial_then_full_receipt_posts_the_ledger_with_the_po_lines_as_origin(
            self, client, purchaser, supplier, make_sku, stock_of, make_user):
        (a, a_code), (b, _) = make_sku(), make_sku()
        ok(post(client, purchaser, "sku-supplier-set", {"sku": a, "supplier_id": supplier["id"], "last_price": "9"}))
        po = new_po(client, purchaser, supplier["id"], [{"sku": a, "qty": 10, "unit_cost": "12.5"},
                                                        {"sku": b, "qty": 4, "unit_cost": "3"}])
        assert_error(post(client, purchaser, f"po-receive/{po['id']}"), 409, "illegal_transition")  # a draft
        ok(post(client, purchaser, f"po-approve/{po['id']}"))
        warehouse = make_user("warehouse")[1]
        part = ok(post(client, warehouse, f"po-receive/{po['number']}",
                       {"lines": [{"sku": a_code, "qty": 6}, {"line_no": 2, "qty": 1}]}))
        assert part["status"] == "partially_received"
        assert [ln["qty_received"] for ln in part["lines"]] == ["6", "1"]
        assert stock_of(a) == (Decimal(6), Decimal(0)) and stock_of(b) == (Decimal(1), Decimal(0))
        assert part["allowed_actions"] == ["receive", "close"]
        assert_error(post(client, purchaser, f"po-cancel/{po['id']}"), 409, "illegal_transition")  # after a receipt
        rest = ok(post(client, warehouse, f"po-receive/{po['id']}", {"note": "the rest"}))  # default: what is due
        assert rest["status"] == "received" and [ln["qty_received"] for ln in rest["lines"]] == ["10", "4"]
        assert [r["lines"] for r in rest["receipts"]][1] == [
            {"line_no": 1, "sku_id": a, "sku_code": a_code, "qty": "4", "unit_cost": "12.50"},
            {"line_no": 2, "sku_id": b, "sku_code": rest["lines"][1]["sku_code"], "qty": "3", "unit_cost": "3.00"}]
        assert stock_of(a) == (Decimal(10), Decimal(0)) and stock_of(b) == (Decimal(4), Decimal(0))
        rows = ledger_rows(po["number"])
        assert [(r.type, r.sku_id, r.qty_on_hand, r.origin_type, r.origin_id) for r in rows] == [
            ("receipt", a, Decimal(6), "purchase_order_line", f"{po['id']}/1"),
            ("receipt", b, Decimal(1), "purchase_order_line", f"{po['id']}/2"),
            ("receipt", a, Decimal(4), "purchase_order_line", f"{po['id']}/1"),
            ("receipt", b, Decimal(3), "purchase_order_line", f"{po['id']}/2")]
        assert_error(post(client, warehouse, f"po-receive/{po['id']}"), 409, "illegal_transition")
        ledger = client.get("/function/stock-ledger", params={"doc_id": po["number"]}, headers=auth(warehouse)).json()
        assert sorted(e["unit_cost"] for e in ledger["items"]) == ["12.50", "12.50", "3.00", "3.00"]  # the PO's costs
        linked = ok(post(client, purchaser, "sku-supplier-set", {"sku": a, "supplier_id": supplier["id"]}))
        assert linked["suppliers"][0]["last_price"] == "12.50"  # the receipt remembered the price paid

    def test_over_receipt_is_refused_beyond_the_tolerance(self, client, purchaser, supplier, make_sku, stock_of):
        sku_id, _ = make_sku()
        strict = new_po(client, purchaser, supplier["id"], [{"sku": sku_id, "qty": 10, "unit_cost": 1}])
        ok(post(client, purchaser, f"po-approve/{strict['id']}"))
        error = assert_error(post(client, purchaser, f"po-receive/{strict['id']}",
                                  {"lines": [{"line_no": 1, "qty": "10.5"}]}), 409, "over_receipt", "lines[0].qty")
        assert error["details"][0]["allowed"] == "10"
        loose = new_po(client, purchaser, supplier["id"], [{"sku": sku_id, "qty": 10, "unit_cost": 1}],
                       over_receipt_pct=5)
        ok(post(client, purchaser, f"po-approve/{loose['id']}"))
        got = ok(post(client, purchaser, f"po-receive/{loose['id']}", {"lines": [{"line_no": 1, "qty": "10.5"}]}))
        assert got["status"] == "received" and got["lines"][0]["qty_received"] == "10.5"
        assert stock_of(sku_id) == (Decimal("10.5"), Decimal(0))

    @pytest.mark.parametrize("lines, status, field", [
        ([{"qty": 1}], 422, "lines[0]"),
        ([{"line_no": 1, "sku": 1, "qty": 1}], 422, "lines[0]"),
        ([{"line_no": 9, "qty": 1}], 422, "lines[0]"),
        ([{"line_no": 1, "qty": 1}, {"line_no": 1, "qty": 1}], 422, "lines[1]"),
        ([{"line_no": 1, "qty": 0}], 422, "lines[0].qty"),
        ([{"line_no": 1, "qty": "x"}], 422, "lines[0].qty"),
        ([], 422, "lines"),
    ])
    def test_bad_receipts_name_the_field(self, client, purchaser, supplier, make_sku, lines, status, field):
        sku_id, _ = make_sku()
        po = new_po(client, purchaser, supplier["id"], [{"sku": sku_id, "qty": 2, "unit_cost": 1}])
        ok(post(client, purchaser, f"po-approve/{po['id']}"))
        assert_error(post(client, purchaser, f"po-receive/{po['id']}", {"lines": lines}), status, field=field)
        assert_error(post(client, purchaser, "po-receive/PO20000101999999"), 404, "not_found", "po")

    def test_a_receipt_with_a_key_is_posted_once(self, client, purchaser, supplier, make_sku, stock_of):
        sku_id, _ = make_sku()
        po = new_po(client, purchaser, supplier["id"], [{"sku": sku_id, "qty": 5, "unit_cost": 2}])
        ok(post(client, purchaser, f"po-approve/{po['id']}"))
        body, key = {"lines": [{"line_no": 1, "qty": 2}]}, unique("key")
        first = post(client, purchaser, f"po-receive/{po['id']}", body, key)
        again = post(client, purchaser, f"po-receive/{po['id']}", body, key)
        assert first.status_code == again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
        assert stock_of(sku_id) == (Decimal(2), Decimal(0)) and len(ledger_rows(po["number"])) == 1

    def test_close_a_partially_received_po_and_cancel_an_approved_one(self, client, purchaser, supplier, make_sku):
        sku_id, _ = make_sku()
        po = new_po(client, purchaser, supplier["id"], [{"sku": sku_id, "qty": 5, "unit_cost": 2}])
        assert_error(post(client, purchaser, f"po-close/{po['id']}"), 409, "illegal_transition")  # a draft
        ok(post(client, purchaser, f"po-approve/{po['id']}"))
        ok(post(client, purchaser, f"po-receive/{po['id']}", {"lines": [{"line_no": 1, "qty": 2}]}))
        closed = ok(post(client, purchaser, f"po-close/{po['id']}", {"reason": "supplier out of stock"}))
        assert closed["status"] == "closed" and closed["end_reason"] == "supplier out of stock"
        assert closed["allowed_actions"] == []
        assert_error(post(client, purchaser, f"po-receive/{po['id']}"), 409, "illegal_transition")
        other = new_po(client, purchaser, supplier["id"], [{"sku": sku_id, "qty": 5, "unit_cost": 2}])
        ok(post(client, purchaser, f"po-approve/{other['id']}"))
        cancelled = ok(post(client, purchaser, f"po-cancel/{other['id']}"))
        assert cancelled["status"] == "cancelled" and cancelled["ended_at"].endswith("Z")

    def test_events_po_approved_and_po_received(self, client, purchaser, supplier, make_sku):
        from sqlalchemy import select

        from erp_common.db import transaction
        from erp_common.events import OutboxEvent, load_event

        sku_id, _ = make_sku()
        po = new_po(client, purchaser, supplier["id"], [{"sku": sku_id, "qty": 3, "unit_cost": "2.5"}])
        ok(post(client, purchaser, f"po-approve/{po['id']}"))
        ok(post(client, purchaser, f"po-receive/{po['id']}"))
        with transaction() as session:
            rows = session.scalars(select(OutboxEvent).where(OutboxEvent.data.like(f'%"number":"{po["number"]}"%')))
            found = {row.type: load_event(session, row.id).event for row in rows}
        assert set(found) == {"po.approved", "po.received"}
        assert found["po.approved"].total_amount == Decimal("7.5")
        assert found["po.received"].status == "received" and found["po.received"].lines[0].qty == Decimal(3)

    def test_roles(self, client, make_user, supplier, make_sku):
        cashier, planner = make_user("cashier")[1], make_user("planner")[1]
        sku_id, _ = make_sku()
        body = {"supplier_id": supplier["id"], "lines": [{"sku": sku_id, "qty": 1, "unit_cost": 1}]}
        assert_error(post(client, cashier, "po-create", body), 403, "forbidden")
        assert_error(post(client, planner, "po-create", body), 403, "forbidden")
        assert client.get("/function/po-list", headers=auth(planner)).status_code == 200
        assert_error(client.get("/function/po-list", headers=auth(cashier)), 403, "forbidden")
        assert_error(client.post("/function/po-create", json=body), 401)
