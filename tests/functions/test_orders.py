"""Sales order functions through the gateway over HTTP: create, get, list, pay, ship, cancel, return,
and the job that cancels unpaid orders."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from tests.conftest import auth, unique
from tests.functions.test_identity import assert_error


@pytest.fixture(scope="module")
def cashier(make_user):
    return make_user("cashier")[1]


@pytest.fixture
def sku(make_sku, put_stock):
    """A SKU at 100.00 with 10 in the main warehouse: (sku_id, code)."""
    sku_id, code = make_sku("100.00")
    put_stock(sku_id, 10)
    return sku_id, code


def create(client, token, body, key=None):
    headers = auth(token)
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/function/order-create", json=body, headers=headers)


def created(client, token, body) -> dict:
    response = create(client, token, body)
    assert response.status_code == 201, response.text
    return response.json()


def call(client, token, name, order, body=None):
    return client.post(f"/function/{name}/{order}", json=body or {}, headers=auth(token))


class TestCreate:
    def test_the_seed_body_works_on_the_seed_path(self, client, cashier, make_sku, put_stock, stock_of):
        code = unique("SKU")
        sku_id, _ = make_sku("100.00", code=code)
        put_stock(sku_id, 5)
        body = {"customer_id": 1, "details": [{"sku_id": code, "qty_ordered": 2, "unit_price": 100.00}]}
        response = client.post("/order/create", json=body, headers=auth(cashier))
        assert response.status_code == 201, response.text
        order = response.json()
        assert re.fullmatch(r"SO\d{8}\d{6,}", order["number"])
        assert order["status"] == "pending_payment" and order["customer_id"] == 1
        assert order["total_amount"] == "200.00" and order["amount_due"] == "200.00"
        assert order["lines"][0]["sku_code"] == code and order["lines"][0]["quantity"] == "2"
        assert stock_of(sku_id) == (Decimal(5), Decimal(2))

    def test_the_clean_body_prices_from_the_catalog(self, client, cashier, sku, make_sku, put_stock):
        other_id, _ = make_sku("12.345")
        put_stock(other_id, 3)
        order = created(client, cashier, {"lines": [{"sku": sku[0], "qty": 1}, {"sku": other_id, "qty": "3"}]})
        assert [ln["unit_price"] for ln in order["lines"]] == ["100.00", "12.345"]
        # a line's amount is rounded to the cent, half up: 3 x 12.345 = 37.035 -> 37.04
        assert [ln["amount"] for ln in order["lines"]] == ["100.00", "37.04"]
        assert order["total_amount"] == "137.04"

    def test_a_different_client_price_is_refused_naming_the_line(self, client, cashier, sku, stock_of):
        body = {"lines": [{"sku": sku[1], "qty": 1}, {"sku": sku[1] + "x", "qty": 1}]}
        assert_error(create(client, cashier, body), 404, "unknown_sku", "lines[1].sku")
        body = {"lines": [{"sku": sku[1], "qty": 1, "unit_price": "99.99"}]}
        error = assert_error(create(client, cashier, body), 409, "price_mismatch", "lines[0].unit_price")
        assert error["details"][0]["price"] == "100.00"
        assert stock_of(sku[0]) == (Decimal(10), Decimal(0))

    def test_a_sku_not_on_sale_is_refused(self, client, cashier, make_sku, put_stock):
        sku_id, _ = make_sku("5.00", status="off_sale")
        put_stock(sku_id, 5)
        assert_error(create(client, cashier, {"lines": [{"sku": sku_id, "qty": 1}]}), 409, "sku_not_sellable",
                     "lines[0].sku")

    def test_a_short_line_reserves_nothing_and_names_every_short_sku(self, client, cashier, sku, make_sku,
                                                                     put_stock, stock_of):
        other_id, other_code = make_sku("1.00")
        put_stock(other_id, 1)
        body = {"lines": [{"sku": sku[0], "qty": 11}, {"sku": other_id, "qty": 2}]}
        error = assert_error(create(client, cashier, body), 409, "insufficient_stock")
        assert {(d["sku"], d["available"]) for d in error["details"]} == {(sku[1], "10"), (other_code, "1")}
        assert stock_of(sku[0]) == (Decimal(10), Decimal(0)) and stock_of(other_id) == (Decimal(1), Decimal(0))
        never_stocked, _ = make_sku("1.00")
        error = assert_error(create(client, cashier, {"lines": [{"sku": never_stocked, "qty": 1}]}), 409,
                             "insufficient_stock")
        assert error["details"][0]["available"] == "0"

    @pytest.mark.parametrize("body, field", [
        ({}, "lines"),
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "A", "qty": 0}]}, "lines[0].qty"),
        ({"lines": [{"sku": "A", "qty": -1}]}, "lines[0].qty"),
        ({"lines": [{"sku": "A", "qty": "abc"}]}, "lines[0].qty"),
        ({"lines": [{"qty": 1}]}, "lines[0].sku"),
        ({"lines": [{"sku": "A", "qty": 1, "colour": "red"}]}, "lines[0].colour"),
        ({"lines": [{"sku": "A", "qty": 1}], "customer_id": 0}, "customer_id"),
        ({"lines": [{"sku": "A", "qty": 1}], "discount": 5}, "discount"),
    ])
    def test_bad_input_is_422_naming_the_field(self, client, cashier, body, field):
        assert_error(create(client, cashier, body), 422, "validation_error", field)

    def test_a_sku_listed_twice_is_422(self, client, cashier, sku):
        body = {"lines": [{"sku": sku[0], "qty": 1}, {"sku": sku[1], "qty": 1}]}
        assert_error(create(client, cashier, body), 422, "validation_error", "lines[1].sku")

    def test_unknown_or_inactive_warehouse(self, client, cashier, sku):
        assert_error(create(client, cashier, {"warehouse_id": 99999, "lines": [{"sku": sku[0], "qty": 1}]}), 404,
                     field="warehouse_id")

    def test_roles(self, client, make_user, sku):
        assert_error(create(client, make_user("warehouse")[1], {"lines": [{"sku": sku[0], "qty": 1}]}), 403)
        assert create(client, make_user("manager")[1], {"lines": [{"sku": sku[0], "qty": 1}]}).status_code == 201
        assert_error(client.post("/function/order-create", json={"lines": []}), 401)

    def test_an_idempotency_key_returns_the_first_order(self, client, cashier, sku, stock_of):
        body = {"lines": [{"sku": sku[0], "qty": 2}]}
        key = unique("key")
        first = create(client, cashier, body, key)
        again = create(client, cashier, body, key)
        assert first.status_code == again.status_code == 201
        assert again.json()["number"] == first.json()["number"] and again.headers["Idempotent-Replayed"] == "true"
        assert stock_of(sku[0]) == (Decimal(10), Decimal(2))
        assert_error(create(client, cashier, {"lines": [{"sku": sku[0], "qty": 3}]}, key), 422,
                     "idempotency_key_reused")

    def test_events_go_through_the_outbox(self, client, cashier, sku):
        from sqlalchemy import select

        from erp_common.db import transaction
        from erp_common.events import OutboxEvent, load_event

        order = created(client, cashier, {"lines": [{"sku": sku[0], "qty": 1}]})
        number = order["number"]
        with transaction() as session:
            rows = session.scalars(select(OutboxEvent).where(
                OutboxEvent.data.like(f'%"number":"{number}"%') | OutboxEvent.data.like(f'%"doc_id":"{number}"%')))
            found = {row.type: load_event(session, row.id).event for row in rows}
        assert set(found) == {"order.created", "stock.changed"}  # the reservation is a stock posting too
        assert found["order.created"].total_amount == Decimal("100")
        (line,) = found["stock.changed"].lines
        assert (line.kind, line.qty_reserved, line.origin_type) == ("reserve", Decimal(1), "sales_order_line")
        assert line.origin_id == f"{order['id']}/1"


class TestReadAndList:
    def test_get_by_id_or_number_and_list_with_filters(self, client, cashier, sku, make_user):
        customer = int(unique("")[1:7], 16) + 1000
        order = created(client, cashier, {"customer_id": customer, "lines": [{"sku": sku[0], "qty": 1}]})
        reader = make_user("accountant")[1]
        by_number = client.get(f"/function/order-get/{order['number']}", headers=auth(reader))
        by_id = client.get(f"/function/order-get/{order['id']}", headers=auth(reader))
        assert by_number.status_code == by_id.status_code == 200
        assert by_number.json() == by_id.json()
        assert by_number.json()["lines"][0]["sku_id"] == sku[0]
        listed = client.get("/function/order-list", params={"customer_id": customer, "status": "pending_payment"},
                            headers=auth(reader)).json()
        assert listed["total"] == 1 and listed["items"][0]["number"] == order["number"]
        created_at = order["created_at"]
        listed = client.get("/function/order-list", params={"customer_id": customer, "date_from": created_at},
                            headers=auth(reader)).json()
        assert listed["total"] == 1
        listed = client.get("/function/order-list", params={"customer_id": customer, "date_to": created_at},
                            headers=auth(reader)).json()
        assert listed["total"] == 0
        assert client.get("/function/order-list", params={"status": "paid"}, headers=auth(reader)).status_code == 200

    def test_unknown_order_and_bad_filters(self, client, cashier):
        assert_error(client.get("/function/order-get/SO20260101999999", headers=auth(cashier)), 404, field="order")
        assert_error(client.get("/function/order-get/0", headers=auth(cashier)), 404)
        assert_error(client.get("/function/order-list", params={"status": "lost"}, headers=auth(cashier)), 422,
                     field="status")
        assert_error(client.get("/function/order-list", params={"date_from": "yesterday"}, headers=auth(cashier)),
                     422, field="date_from")
        assert_error(client.get("/function/order-list"), 401)


class TestLifecycle:
    def test_pay_ship_in_parts_return_and_the_ledger(self, client, cashier, sku, make_user, stock_of, stock_check):
        order = created(client, cashier, {"lines": [{"sku": sku[1], "qty": 4}]})
        number = order["number"]
        assert_error(call(client, cashier, "order-ship", number), 409, "illegal_transition", "status")
        assert_error(call(client, cashier, "order-return", number), 409, "illegal_transition")
        assert_error(call(client, cashier, "order-pay", number, {"amount": "399.99"}), 409, "amount_mismatch")
        assert_error(call(client, cashier, "order-pay", number, {"amount": "-1"}), 422, field="amount")
        paid = call(client, cashier, "order-pay", number, {"amount": "400.00", "method": "card"})
        assert paid.status_code == 200, paid.text
        assert paid.json()["status"] == "paid" and paid.json()["amount_due"] == "0.00"
        assert paid.json()["payments"][0]["amount"] == "400.00"
        error = assert_error(call(client, cashier, "order-pay", number, {"amount": "400.00"}), 409,
                             "illegal_transition")
        assert error["details"][0]["status"] == "paid"
        assert error["details"][0]["allowed_actions"] == ["ship", "cancel"]  # the workflow names them

        shipper = make_user("warehouse")[1]
        assert_error(call(client, shipper, "order-ship", number, {"lines": [{"line_no": 1, "qty": 5}]}), 409,
                     "quantity_exceeded", "lines[0].qty")
        assert_error(call(client, shipper, "order-ship", number, {"lines": [{"line_no": 2}]}), 422, field="lines[0]")
        part = call(client, shipper, "order-ship", number, {"lines": [{"sku": sku[0], "qty": 1}]})
        assert part.status_code == 200, part.text
        assert part.json()["status"] == "partially_shipped" and part.json()["lines"][0]["qty_shipped"] == "1"
        assert stock_of(sku[0]) == (Decimal(9), Decimal(3))
        assert_error(call(client, cashier, "order-cancel", number), 409, "illegal_transition")
        rest = call(client, shipper, "order-ship", number)
        assert rest.json()["status"] == "shipped" and len(rest.json()["shipments"]) == 2
        assert stock_of(sku[0]) == (Decimal(6), Decimal(0))
        assert_error(call(client, shipper, "order-ship", number), 409, "illegal_transition")

        assert_error(call(client, cashier, "order-return", number, {"lines": [{"line_no": 1, "qty": 5}]}), 409,
                     "quantity_exceeded")
        back = call(client, cashier, "order-return", number, {"lines": [{"line_no": 1, "qty": 1}], "reason": "torn"})
        assert back.status_code == 200, back.text
        assert back.json()["status"] == "partially_returned" and back.json()["refunded_amount"] == "100.00"
        assert back.json()["refunds"][0]["lines"][0]["qty"] == "1"
        assert stock_of(sku[0]) == (Decimal(7), Decimal(0))
        back = call(client, cashier, "order-return", number)
        assert back.json()["status"] == "returned" and back.json()["refunded_amount"] == "400.00"
        assert_error(call(client, cashier, "order-return", number), 409, "illegal_transition")
        assert stock_of(sku[0]) == (Decimal(10), Decimal(0))

        ledger = client.get("/function/stock-ledger", params={"doc_id": number}, headers=auth(cashier)).json()
        assert sorted(e["type"] for e in ledger["items"]) == ["reserve", "return", "return", "sale", "sale"]
        assert stock_check() == []

    def test_cancel_releases_the_reservation_and_refunds_a_payment(self, client, cashier, sku, stock_of):
        order = created(client, cashier, {"lines": [{"sku": sku[0], "qty": 3}]})
        assert stock_of(sku[0]) == (Decimal(10), Decimal(3))
        cancelled = call(client, cashier, "order-cancel", order["number"], {"reason": "changed mind"})
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled" and cancelled.json()["refunds"] == []
        assert cancelled.json()["lines"][0]["qty_released"] == "3"
        assert stock_of(sku[0]) == (Decimal(10), Decimal(0))
        assert_error(call(client, cashier, "order-cancel", order["number"]), 409, "illegal_transition")
        assert_error(call(client, cashier, "order-pay", order["number"], {"amount": "300"}), 409,
                     "illegal_transition")

        paid = created(client, cashier, {"lines": [{"sku": sku[0], "qty": 2}]})
        call(client, cashier, "order-pay", paid["id"], {"amount": "200"})
        cancelled = client.post("/function/order-cancel", json={"order": paid["number"]}, headers=auth(cashier))
        assert cancelled.json()["refunded_amount"] == "200.00" and cancelled.json()["refunds"][0]["amount"] == "200.00"
        assert stock_of(sku[0]) == (Decimal(10), Decimal(0))

    def test_change_functions_need_the_roles_and_an_order(self, client, make_user, cashier):
        reader = make_user("accountant")[1]
        for name in ("order-pay", "order-ship", "order-cancel", "order-return"):
            assert_error(call(client, reader, name, "1", {"amount": "1"} if name == "order-pay" else {}), 403)
            assert_error(call(client, cashier, name, "SO20260101999999",
                              {"amount": "1"} if name == "order-pay" else {}), 404)
        assert_error(client.post("/function/order-pay", json={"amount": "1"}, headers=auth(cashier)), 422,
                     field="order")


class TestCancelUnpaidJob:
    def test_old_unpaid_orders_are_cancelled_and_their_stock_released(self, client, cashier, admin_token, sku,
                                                                      stock_of, gateway):
        from sqlalchemy import update

        from erp_common.db import transaction, utcnow
        from erp_common.sales.models import SalesOrder

        old = created(client, cashier, {"lines": [{"sku": sku[0], "qty": 2}]})
        old_paid = created(client, cashier, {"lines": [{"sku": sku[0], "qty": 1}]})
        fresh = created(client, cashier, {"lines": [{"sku": sku[0], "qty": 1}]})
        call(client, cashier, "order-pay", old_paid["number"], {"amount": "100"})
        with transaction() as session:
            for order in (old, old_paid):
                session.execute(update(SalesOrder).where(SalesOrder.id == order["id"]).values(
                    created_at=utcnow() - timedelta(minutes=31)))
        assert stock_of(sku[0]) == (Decimal(10), Decimal(4))
        response = client.post("/function/job-cancel-unpaid-orders", headers=auth(admin_token))
        assert response.status_code == 200, response.text
        run = response.json()
        assert run["status"] == "succeeded" and old["number"] in run["summary"]["cancelled"]
        assert old_paid["number"] not in run["summary"]["cancelled"] and run["summary"]["errors"] == []
        assert stock_of(sku[0]) == (Decimal(10), Decimal(2))
        statuses = {o["number"]: client.get(f"/function/order-get/{o['number']}", headers=auth(cashier)).json()
                    ["status"] for o in (old, old_paid, fresh)}
        assert statuses == {old["number"]: "cancelled", old_paid["number"]: "paid", fresh["number"]: "pending_payment"}
        runs = client.get("/function/job-run-list", params={"job": "job-cancel-unpaid-orders"},
                          headers=auth(admin_token)).json()
        assert runs["items"][0]["id"] == run["id"] and runs["items"][0]["finished_at"]

    def test_an_order_keeps_its_number_when_its_timestamp_is_corrected(self, client, cashier, sku):
        """The number printed on the receipt is stored: a corrected created_at (here three days back,
        across dates, whatever the time of day the test runs at) changes neither it nor its lookup."""
        from sqlalchemy import update

        from erp_common.db import transaction, utcnow
        from erp_common.sales.models import SalesOrder

        order = created(client, cashier, {"lines": [{"sku": sku[0], "qty": 1}]})
        with transaction() as session:
            session.execute(update(SalesOrder).where(SalesOrder.id == order["id"]).values(
                created_at=utcnow() - timedelta(days=3)))
        again = client.get(f"/function/order-get/{order['number']}", headers=auth(cashier))
        assert again.status_code == 200 and again.json()["number"] == order["number"]
        assert client.get(f"/function/order-get/{order['id']}", headers=auth(cashier)).json()["number"] == \
            order["number"]


def test_the_ce_packing_serves_orders_and_stock(database, make_sku, put_stock, make_user):
    from tests.conftest import ROOT, RunningGateway

    sku_id, code = make_sku("100.00")
    put_stock(sku_id, 5)
    token = make_user("cashier")[1]
    running = RunningGateway(ROOT / "stack.ce.yml")
    try:
        with httpx.Client(base_url=running.url, timeout=30, headers=auth(token)) as http:
            body = {"customer_id": 1, "details": [{"sku_id": code, "qty_ordered": 2, "unit_price": 100.00}]}
            order = http.post("/function/order/create", json=body)
            assert order.status_code == 201, order.text
            number = order.json()["number"]
            assert http.get(f"/function/order/get/{number}").json()["status"] == "pending_payment"
            assert http.post(f"/function/order/pay/{number}", json={"amount": "200"}).json()["status"] == "paid"
            assert http.post("/order/create", json=body).status_code == 201
            stock = http.get("/function/stock/query", params={"sku": code}).json()
            assert stock["items"][0]["reserved"] == "4"
            assert http.get("/function/stock/warehouse-list").json()["total"] >= 1
            boss = auth(make_user("manager")[1])  # a manager runs a job at once, whatever ran this minute
            assert http.post("/function/job/cancel-unpaid-orders", headers=boss).json()["status"] == "succeeded"
    finally:
        running.close()
