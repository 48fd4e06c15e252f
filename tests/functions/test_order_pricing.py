"""Orders priced by the promotion engine, over HTTP: a quote and an order of the same cart give the
same total; the order keeps each line's discounts; returns refund the discounted amounts; a coupon
is used once and a usage limit holds under concurrent checkouts (both backends; MariaDB in
``make test-services``)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest

from tests.conftest import auth, unique
from tests.functions.test_identity import assert_error
from tests.functions.test_membership import phone


@pytest.fixture(scope="module")
def marketing(make_user):
    return make_user("marketing")[1]


@pytest.fixture(scope="module")
def cashier(make_user):
    return make_user("cashier")[1]


@pytest.fixture(scope="module")
def manager(make_user):
    return make_user("manager")[1]


def _promo(client, token, **body) -> dict:
    body.setdefault("name", unique("p "))
    response = client.post("/function/promo-create", json=body, headers=auth(token))
    assert response.status_code == 201, response.text
    return response.json()


def _off(client, token, *promos) -> None:
    for p in promos:
        client.patch(f"/function/promo-update/{p['id']}", json={"enabled": False}, headers=auth(token))


def _member(client, cashier, manager, points=0) -> int:
    member = client.post("/function/member-register", json={"name": "Buyer", "phone": phone()},
                         headers=auth(cashier)).json()
    if points:
        client.post(f"/function/member-points-adjust/{member['id']}", json={"points": points, "reason": "test"},
                    headers=auth(manager))
    return member["id"]


def _coupon(client, marketing, cashier, member_id, **template) -> str:
    template = {"name": "coupon", "kind": "amount", "value": 10, **template}
    t = client.post("/function/coupon-template-create", json=template, headers=auth(marketing)).json()
    c = client.post("/function/coupon-issue", json={"template_id": t["id"], "member_ids": [member_id]},
                    headers=auth(marketing)).json()["issued"][0]
    claimed = client.post("/function/coupon-claim", json={"code": c["code"], "member_id": member_id},
                          headers=auth(cashier))
    assert claimed.status_code == 200, claimed.text
    return c["code"]


def _uses(order_id: int) -> list[int]:
    from sqlalchemy import select

    from erp_common.db import transaction
    from erp_common.promotion.models import PromotionUse

    with transaction() as session:
        return sorted(session.scalars(select(PromotionUse.promotion_id).where(PromotionUse.order_id == order_id)))


def _order(client, token, body):
    return client.post("/function/order-create", json=body, headers=auth(token))


def _points(client, token, member_id) -> int:
    return client.get(f"/function/member-get/{member_id}", headers=auth(token)).json()["points_balance"]


class TestQuoteEqualsOrder:
    def test_same_cart_same_total_and_the_order_keeps_each_lines_discounts(
            self, client, marketing, cashier, manager, make_sku, put_stock):
        a, a_code = make_sku("100.00")
        b, _ = make_sku("30.00")
        put_stock(a, 20)
        put_stock(b, 20)
        promos = [_promo(client, marketing, kind="percent_off", percent=10, scope={"type": "skus", "ids": [a]}),
                  _promo(client, marketing, kind="buy_x_get_y", buy_qty=2, free_qty=1,
                         scope={"type": "skus", "ids": [b]}),
                  _promo(client, marketing, kind="spend_off", threshold=200, amount=15,
                         scope={"type": "skus", "ids": [a, b]})]
        try:
            member = _member(client, cashier, manager, points=1000)
            code = _coupon(client, marketing, cashier, member, value=10, min_spend=100)
            cart = {"customer_id": member, "lines": [{"sku": a_code, "qty": 2}, {"sku": b, "qty": 3}],
                    "coupon": code, "points": 500}
            quote = client.post("/function/price-quote", json=cart, headers=auth(cashier)).json()
            # a: 200 -> 180; b: 90 -> 60 (one free); 240 >= 200: 15 off -> 225; coupon 10 -> 215; 5.00 points -> 210
            assert quote["total"] == "210.00", quote
            response = _order(client, cashier, cart)
            assert response.status_code == 201, response.text
            order = response.json()
            assert order["total_amount"] == quote["total"] and order["amount_due"] == "210.00"
            assert order["discount_amount"] == "80.00" and order["coupon_code"] == code
            assert order["points_redeemed"] == 500
            assert [ln["amount"] for ln in order["lines"]] == [ln["amount"] for ln in quote["lines"]]
            assert [ln["list_amount"] for ln in order["lines"]] == ["200.00", "90.00"]
            kinds = [a["kind"] for a in order["lines"][0]["promotions"]]
            assert kinds == ["percent_off", "spend_off", "coupon", "points"]
            assert all(a["reason"] for ln in order["lines"] for a in ln["promotions"])
            stored = client.get(f"/function/order-get/{order['id']}", headers=auth(cashier)).json()
            assert stored["lines"] == order["lines"]
            assert _points(client, cashier, member) == 500
            used = client.get("/function/coupon-list", params={"member_id": member}, headers=auth(cashier)).json()
            assert used["items"][0]["status"] == "used" and used["items"][0]["order_id"] == order["id"]
            assert _uses(order["id"]) == sorted(p["id"] for p in promos)
            # the coupon cannot be used twice
            assert_error(_order(client, cashier, {**cart, "points": 0}), 409, "coupon_unavailable", "coupon")
            # a cancel gives the coupon and the points back
            cancelled = client.post(f"/function/order-cancel/{order['id']}", json={}, headers=auth(cashier))
            assert cancelled.status_code == 200, cancelled.text
            assert _points(client, cashier, member) == 1000
            back = client.get("/function/coupon-list", params={"member_id": member}, headers=auth(cashier)).json()
            assert back["items"][0]["status"] == "claimed"
            assert _order(client, cashier, cart).json()["total_amount"] == "210.00"
        finally:
            _off(client, marketing, *promos)

    def test_an_order_without_promotions_is_priced_as_before(self, client, cashier, make_sku, put_stock):
        sku, _ = make_sku("19.99")
        put_stock(sku, 5)
        order = _order(client, cashier, {"lines": [{"sku": sku, "qty": 3}]}).json()
        assert order["total_amount"] == "59.97" and order["discount_amount"] == "0.00"
        assert order["lines"][0]["promotions"] == [] and order["lines"][0]["list_amount"] == "59.97"


class TestReturns:
    def test_a_partial_return_refunds_the_discounted_amounts(self, client, marketing, cashier, make_sku, put_stock):
        a, _ = make_sku("100.00")
        b, _ = make_sku("50.00")
        put_stock(a, 10)
        put_stock(b, 10)
        p = _promo(client, marketing, kind="amount_off", amount=30, scope={"type": "skus", "ids": [a, b]})
        try:
            order = _order(client, cashier, {"lines": [{"sku": a, "qty": 3}, {"sku": b, "qty": 2}]}).json()
            # 300 + 100 = 400; 30 off spread 3:1 -> 22.50 / 7.50: lines 277.50 and 92.50
            assert [ln["amount"] for ln in order["lines"]] == ["277.50", "92.50"] and order["total_amount"] == "370.00"
            client.post(f"/function/order-pay/{order['id']}", json={"amount": "370.00"}, headers=auth(cashier))
            client.post(f"/function/order-ship/{order['id']}", json={}, headers=auth(cashier))
            first = client.post(f"/function/order-return/{order['id']}", headers=auth(cashier),
                                json={"lines": [{"line_no": 1, "qty": 1}, {"line_no": 2, "qty": 1}]}).json()
            assert first["refunds"][0]["amount"] == "138.75"  # 92.50 + 46.25
            rest = client.post(f"/function/order-return/{order['id']}", json={}, headers=auth(cashier)).json()
            assert rest["refunds"][1]["amount"] == "231.25" and rest["refunded_amount"] == "370.00"
        finally:
            _off(client, marketing, p)


class TestLimits:
    def test_a_usage_limit_and_a_per_member_limit(self, client, marketing, cashier, manager, make_sku, put_stock):
        sku, _ = make_sku("10.00")
        put_stock(sku, 50)
        total = _promo(client, marketing, kind="amount_off", amount=1, usage_limit=2,
                       scope={"type": "skus", "ids": [sku]})
        try:
            totals = [_order(client, cashier, {"lines": [{"sku": sku, "qty": 1}]}).json()["total_amount"]
                      for _ in range(3)]
            assert totals == ["9.00", "9.00", "10.00"]
        finally:
            _off(client, marketing, total)
        member = _member(client, cashier, manager)
        per_member = _promo(client, marketing, kind="amount_off", amount=2, per_member_limit=1,
                            scope={"type": "skus", "ids": [sku]})
        try:
            body = {"customer_id": member, "lines": [{"sku": sku, "qty": 1}]}
            assert [_order(client, cashier, body).json()["total_amount"] for _ in range(2)] == ["8.00", "10.00"]
            anonymous = _order(client, cashier, {"lines": [{"sku": sku, "qty": 1}]}).json()
            assert anonymous["total_amount"] == "10.00"  # a per-member promotion is for members
        finally:
            _off(client, marketing, per_member)


def _concurrently(url, calls):
    def one(body_and_token):
        body, token = body_and_token
        with httpx.Client(base_url=url, timeout=60) as http:
            return http.post("/function/order-create", json=body, headers=auth(token))

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(one, calls))


class TestConcurrency:
    def test_one_coupon_redeemed_by_50_concurrent_checkouts_is_used_once(
            self, client, gateway, marketing, cashier, manager, make_sku, put_stock):
        sku, _ = make_sku("50.00")
        put_stock(sku, 100)
        member = _member(client, cashier, manager)
        code = _coupon(client, marketing, cashier, member, value=5)
        body = {"customer_id": member, "lines": [{"sku": sku, "qty": 1}], "coupon": code}
        results = _concurrently(gateway.url, [(body, cashier)] * 50)
        statuses = sorted(r.status_code for r in results)
        assert statuses.count(201) == 1 and set(statuses) <= {201, 409}, statuses
        assert all(r.json()["error"]["code"] == "coupon_unavailable" for r in results if r.status_code == 409)
        winner = next(r.json() for r in results if r.status_code == 201)
        assert winner["total_amount"] == "45.00"

    def test_a_promotion_limited_to_10_under_100_concurrent_orders_is_applied_10_times(
            self, client, gateway, marketing, cashier, make_sku, put_stock):
        sku, _ = make_sku("20.00")
        put_stock(sku, 200)
        p = _promo(client, marketing, kind="amount_off", amount=3, usage_limit=10,
                   scope={"type": "skus", "ids": [sku]})
        try:
            results = _concurrently(gateway.url, [({"lines": [{"sku": sku, "qty": 1}]}, cashier)] * 100)
            assert [r.status_code for r in results].count(201) == 100, [r.text for r in results
                                                                        if r.status_code != 201][:3]
            totals = [Decimal(r.json()["total_amount"]) for r in results]
            assert totals.count(Decimal("17.00")) == 10 and totals.count(Decimal("20.00")) == 90
            assert client.get(f"/function/promo-get/{p['id']}", headers=auth(cashier)).json()["used_count"] == 10
        finally:
            _off(client, marketing, p)
