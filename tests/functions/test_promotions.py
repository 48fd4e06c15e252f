"""Promotion functions through the gateway over HTTP: promotions, coupons, price quotes; roles,
bad input, idempotency and the seed paths. (The engine's own cases: tests/unit/test_pricing.py.)"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

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


def promo(client, token, body, key=None):
    headers = auth(token)
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/function/promo-create", json=body, headers=headers)


def created(client, token, **body) -> dict:
    body.setdefault("name", unique("promo "))
    response = promo(client, token, body)
    assert response.status_code == 201, response.text
    return response.json()


def disable(client, token, promotion) -> None:
    response = client.patch(f"/function/promo-update/{promotion['id']}", json={"enabled": False},
                            headers=auth(token))
    assert response.status_code == 200, response.text


def quote(client, token, body):
    return client.post("/function/price-quote", json=body, headers=auth(token))


def new_member(client, token) -> dict:
    response = client.post("/function/member-register", json={"name": "Q", "phone": phone()}, headers=auth(token))
    assert response.status_code == 201, response.text
    return response.json()


class TestPromotions:
    def test_create_get_list_update(self, client, marketing, cashier, make_sku):
        sku_id, _ = make_sku("80.00")
        p = created(client, marketing, kind="percent_off", percent="12.5", scope={"type": "skus", "ids": [sku_id]},
                    priority=3, usage_limit=100)
        assert p["kind"] == "percent_off" and p["percent"] == "12.50" and p["scope"] == {"type": "skus",
                                                                                         "ids": [sku_id]}
        assert p["used_count"] == 0 and p["enabled"] is True
        got = client.get(f"/function/promo-get/{p['id']}", headers=auth(cashier)).json()
        assert got == p
        listed = client.get("/function/promo-list", params={"kind": "percent_off", "page_size": 200},
                            headers=auth(cashier)).json()
        assert p["id"] in [x["id"] for x in listed["items"]]
        disable(client, marketing, p)
        assert client.get(f"/function/promo-get/{p['id']}", headers=auth(cashier)).json()["enabled"] is False
        off = client.get("/function/promo-list", params={"enabled": "false", "page_size": 200},
                         headers=auth(cashier)).json()
        assert p["id"] in [x["id"] for x in off["items"]]
        assert_error(client.patch("/function/promo-update/99999999", json={"enabled": False},
                                  headers=auth(marketing)), 404, "unknown_promotion")

    def test_a_retry_with_the_same_key_creates_once(self, client, marketing):
        body, key = {"name": "once", "kind": "amount_off", "amount": "5", "enabled": False}, unique("key")
        first, again = promo(client, marketing, body, key), promo(client, marketing, body, key)
        assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]

    @pytest.mark.parametrize("body, field", [
        ({"kind": "percent_off", "percent": 10}, "name"),
        ({"name": "x", "kind": "half_price"}, "kind"),
        ({"name": "x", "kind": "percent_off"}, "percent"),
        ({"name": "x", "kind": "percent_off", "percent": 101}, "percent"),
        ({"name": "x", "kind": "amount_off"}, "amount"),
        ({"name": "x", "kind": "spend_off", "amount": 10}, "threshold"),
        ({"name": "x", "kind": "buy_x_get_y", "buy_qty": 2}, "free_qty"),
        ({"name": "x", "kind": "amount_off", "amount": -1}, "amount"),
        ({"name": "x", "kind": "amount_off", "amount": 1, "scope": {"type": "items"}}, "scope.ids"),
        ({"name": "x", "kind": "amount_off", "amount": 1, "scope": {"type": "brands", "ids": [1]}}, "scope.type"),
        ({"name": "x", "kind": "amount_off", "amount": 1, "starts_at": "2026-02-01T00:00:00Z",
          "ends_at": "2026-01-01T00:00:00Z"}, "ends_at"),
        ({"name": "x", "kind": "amount_off", "amount": 1, "usage_limit": 0}, "usage_limit"),
        ({"name": "x", "kind": "amount_off", "amount": 1, "colour": "red"}, "colour"),
    ])
    def test_bad_input_is_422_naming_the_field(self, client, marketing, body, field):
        assert_error(promo(client, marketing, body), 422, "validation_error", field)

    def test_roles(self, client, cashier, make_user):
        body = {"name": "x", "kind": "amount_off", "amount": 1, "enabled": False}
        assert_error(promo(client, cashier, body), 403, "forbidden")
        warehouse = make_user("warehouse")[1]
        assert_error(client.get("/function/promo-list", headers=auth(warehouse)), 403)
        assert_error(client.get("/function/promo-list"), 401)
        manager = make_user("manager")[1]
        assert promo(client, manager, body).status_code == 201


class TestQuote:
    def test_a_quote_lists_each_promotion_with_its_amount_and_reason(self, client, marketing, cashier, make_sku):
        sku_id, code = make_sku("100.00")
        other, _ = make_sku("50.00")
        p1 = created(client, marketing, kind="percent_off", percent=10, scope={"type": "skus", "ids": [sku_id]})
        p2 = created(client, marketing, kind="spend_off", threshold=150, amount=20,
                     scope={"type": "skus", "ids": [sku_id, other]})
        try:
            response = quote(client, cashier, {"lines": [{"sku": code, "qty": 2}, {"sku": other, "qty": 1}]})
            assert response.status_code == 200, response.text
            q = response.json()
            # 200 -> 180 (10%); 180 + 50 = 230 >= 150 -> 20 off spread 180:50 -> 15.65 / 4.35
            assert q["subtotal"] == "250.00" and q["total"] == "210.00" and q["promotion_discount"] == "40.00"
            assert [(a["promotion_id"], a["amount"]) for a in q["applied"]] == [(p1["id"], "20.00"),
                                                                              (p2["id"], "20.00")]
            assert q["applied"][0]["reason"].startswith("10% off")
            assert q["applied"][1]["reason"].startswith("spend 150.00 get 20.00 off")
            assert [ln["amount"] for ln in q["lines"]] == ["164.35", "45.65"]
        finally:
            disable(client, marketing, p1)
            disable(client, marketing, p2)

    def test_category_scope_covers_sub_categories(self, client, marketing, cashier, make_sku):
        from erp_common.catalog.models import Item, Sku
        from erp_common.db import transaction

        sku_id, code = make_sku("40.00")
        with transaction() as session:
            category_id = session.get(Item, session.get(Sku, sku_id).item_id).category_id
        p = created(client, marketing, kind="amount_off", amount=5, scope={"type": "categories", "ids": [category_id]})
        try:
            q = quote(client, cashier, {"lines": [{"sku": code, "qty": 1}]}).json()
            assert q["total"] == "35.00"
        finally:
            disable(client, marketing, p)

    def test_tier_price_coupon_and_points(self, client, marketing, cashier, make_sku, make_user):
        sku_id, code = make_sku("200.00")
        member = new_member(client, cashier)
        manager = make_user("manager")[1]
        client.post(f"/function/member-points-adjust/{member['id']}", json={"points": 3000, "reason": "gift"},
                    headers=auth(manager))
        tiers = [{"code": "normal", "name": "Normal", "threshold": "0", "discount_rate": "0.05"}]
        assert client.put("/function/member-tiers", json={"tiers": tiers}, headers=auth(marketing)).status_code == 200
        p = created(client, marketing, kind="tier_price", scope={"type": "skus", "ids": [sku_id]})
        template = client.post("/function/coupon-template-create", headers=auth(marketing), json={
            "name": "30 off 300", "kind": "amount", "value": 30, "min_spend": 300, "valid_days": 7}).json()
        issued = client.post("/function/coupon-issue", headers=auth(marketing),
                             json={"template_id": template["id"], "member_ids": [member["id"]]})
        assert issued.status_code == 201, issued.text
        coupon = issued.json()["issued"][0]
        assert coupon["status"] == "issued"
        try:
            body = {"customer_id": member["id"], "lines": [{"sku": code, "qty": 2}], "coupon": coupon["code"],
                    "points": 2000}
            assert_error(quote(client, cashier, body), 409, "coupon_unavailable", "coupon")  # not claimed yet
            claimed = client.post("/function/coupon-claim", json={"code": coupon["code"], "member_id": member["id"]},
                                  headers=auth(cashier))
            assert claimed.status_code == 200 and claimed.json()["status"] == "claimed"
            q = quote(client, cashier, body).json()
            # 400 -> 380 (5% tier price) -> 350 (coupon) -> 330 (2000 points = 20.00)
            assert q["total"] == "330.00", q
            assert (q["promotion_discount"], q["coupon_discount"], q["points_used"], q["points_discount"]) == (
                "20.00", "30.00", 2000, "20.00")
            assert q["applied"][0]["reason"].startswith("normal member price: 5% off")
            assert_error(quote(client, cashier, {**body, "points": 3001}), 409, "insufficient_points", "points")
            assert_error(quote(client, cashier, {**body, "customer_id": None}), 404, "unknown_coupon", "coupon")
            coupons = client.get("/function/coupon-list", params={"member_id": member["id"]},
                                 headers=auth(cashier)).json()
            assert coupons["total"] == 1 and coupons["items"][0]["status"] == "claimed"
        finally:
            disable(client, marketing, p)
            client.put("/function/member-tiers", headers=auth(marketing), json={"tiers": [
                {"code": "normal", "name": "Normal", "threshold": "0", "discount_rate": "0"}]})

    @pytest.mark.parametrize("body, status, field", [
        ({"lines": []}, 422, "lines"),
        ({"lines": [{"sku": "NO-SUCH-SKU", "qty": 1}]}, 404, "lines[0].sku"),
        ({"lines": [{"sku": 1, "qty": 0}]}, 422, "lines[0].qty"),
        ({"lines": [{"sku": 1, "qty": 1}], "points": -1}, 422, "points"),
        ({"lines": [{"sku": 1, "qty": 1}], "points": 5}, 409, "customer_id"),
        ({"lines": [{"sku": 1, "qty": 1}], "coupon": "bad code!"}, 422, "coupon"),
        ({"lines": [{"sku": 1, "qty": 1}], "customer_id": 2_000_000_000, "points": 1}, 404, "customer_id"),
    ])
    def test_bad_quotes_name_the_field(self, client, cashier, make_sku, body, status, field):
        sku_id, _ = make_sku("1.00")
        for line in body["lines"]:
            if line["sku"] == 1:
                line["sku"] = sku_id
        assert_error(quote(client, cashier, body), status, field=field)


class TestCoupons:
    def test_issue_in_bulk_claim_list_and_expiry(self, client, marketing, cashier):
        members = [new_member(client, cashier)["id"] for _ in range(3)]
        template = client.post("/function/coupon-template-create", headers=auth(marketing), json={
            "name": "10%", "kind": "percent", "value": 10, "per_member_limit": 1}).json()
        issued = client.post("/function/coupon-issue", json={"template_id": template["id"], "member_ids": members},
                             headers=auth(marketing)).json()["issued"]
        assert sorted(c["member_id"] for c in issued) == sorted(members)
        assert_error(client.post("/function/coupon-issue", json={"template_id": template["id"],
                                                                 "member_ids": [members[0]]},
                                 headers=auth(marketing)), 409, "coupon_limit_reached", "member_ids[0]")
        assert_error(client.post("/function/coupon-claim", json={"code": issued[0]["code"], "member_id": members[1]},
                                 headers=auth(cashier)), 404, "unknown_coupon", "code")
        first = client.post("/function/coupon-claim", json={"code": issued[0]["code"], "member_id": members[0]},
                            headers=auth(cashier))
        assert first.status_code == 200
        again = client.post("/function/coupon-claim", json={"code": issued[0]["code"], "member_id": members[0]},
                            headers=auth(cashier))
        assert_error(again, 409, "illegal_transition", "status")
        # an issued coupon past its expiry is expired, and cannot be claimed
        from sqlalchemy import update

        from erp_common.db import transaction
        from erp_common.promotion.models import Coupon

        with transaction() as session:
            session.execute(update(Coupon).where(Coupon.id == issued[1]["id"]).values(
                expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        listed = client.get("/function/coupon-list", params={"member_id": issued[1]["member_id"]},
                            headers=auth(cashier)).json()
        assert listed["items"][0]["status"] == "expired"
        assert_error(client.post("/function/coupon-claim", json={"code": issued[1]["code"],
                                                                 "member_id": issued[1]["member_id"]},
                                 headers=auth(cashier)), 409, "coupon_expired", "code")
        expired = client.get("/function/coupon-list", params={"member_id": issued[1]["member_id"],
                                                              "status": "expired"}, headers=auth(cashier)).json()
        assert expired["total"] == 1

    def test_the_expiry_job_marks_old_coupons_expired_and_issue_retries_issue_once(self, client, marketing, cashier,
                                                                                    admin_token):
        from sqlalchemy import update

        from erp_common.db import transaction
        from erp_common.promotion.models import Coupon

        member = new_member(client, cashier)["id"]
        template = client.post("/function/coupon-template-create", json={"name": "old", "value": 1},
                               headers=auth(marketing)).json()
        body, headers = {"template_id": template["id"], "member_ids": [member, member]}, auth(marketing)
        headers["Idempotency-Key"] = unique("key")
        first = client.post("/function/coupon-issue", json=body, headers=headers)
        again = client.post("/function/coupon-issue", json=body, headers=headers)
        assert first.status_code == again.status_code == 201 and again.json() == first.json()
        issued = first.json()["issued"]
        client.post("/function/coupon-claim", json={"code": issued[1]["code"], "member_id": member},
                    headers=auth(cashier))
        with transaction() as session:
            session.execute(update(Coupon).where(Coupon.member_id == member).values(
                expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        run = client.post("/function/job-expire-coupons", headers=auth(admin_token)).json()
        assert run["status"] == "succeeded" and run["processed"] >= 2
        with transaction() as session:
            from sqlalchemy import select

            assert set(session.scalars(select(Coupon.status).where(Coupon.member_id == member))) == {"expired"}

    @pytest.mark.parametrize("body, field", [
        ({"kind": "amount", "value": 5}, "name"),
        ({"name": "x", "kind": "amount", "value": 0}, "value"),
        ({"name": "x", "kind": "percent", "value": 150}, "value"),
        ({"name": "x", "value": 5, "valid_days": 0}, "valid_days"),
        ({"name": "x", "value": 5, "scope": {"type": "skus"}}, "scope.ids"),
    ])
    def test_bad_templates_are_422(self, client, marketing, body, field):
        assert_error(client.post("/function/coupon-template-create", json=body, headers=auth(marketing)), 422,
                     field=field)

    def test_roles_and_unknowns(self, client, cashier, marketing):
        assert_error(client.post("/function/coupon-template-create", json={"name": "x", "value": 1},
                                 headers=auth(cashier)), 403)
        assert_error(client.post("/function/coupon-issue", json={"template_id": 99999999, "member_ids": [1]},
                                 headers=auth(marketing)), 404, "unknown_template", "template_id")
        template = client.post("/function/coupon-template-create", json={"name": "x", "value": 1},
                               headers=auth(marketing)).json()
        assert_error(client.post("/function/coupon-issue", json={"template_id": template["id"],
                                                                 "member_ids": [2_000_000_000]},
                                 headers=auth(marketing)), 404, "unknown_member", "member_ids[0]")
        assert_error(client.get("/function/coupon-list", headers=auth(cashier)), 422, field="member_id")


def test_the_seed_paths_health_and_docs(client, marketing):
    response = client.post("/promo/create", json={"name": "seed", "kind": "amount_off", "amount": 1, "enabled": False},
                           headers=auth(marketing))
    assert response.status_code == 201, response.text
    assert client.get(f"/promo/get/{response.json()['id']}", headers=auth(marketing)).status_code == 200
    assert client.get("/promo/health").json()["status"] == "ok"
    spec = client.get("/promo/openapi.json").json()
    assert "/function/price-quote" in spec["paths"] and "/function/coupon-issue" in spec["paths"]
