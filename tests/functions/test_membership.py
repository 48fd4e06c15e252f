"""Membership functions through the gateway over HTTP: members, tiers, points, the order consumers
and the jobs; roles, bad input, idempotency, and points exactly once."""
from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest

from tests.conftest import auth, unique
from tests.functions.test_identity import assert_error


@pytest.fixture(scope="module")
def cashier(make_user):
    return make_user("cashier")[1]


@pytest.fixture(scope="module")
def marketing(make_user):
    return make_user("marketing")[1]


def phone() -> str:
    """A fresh Chinese mobile number, 11 digits starting with 1."""
    return "139" + f"{uuid.uuid4().int % 10**8:08d}"


def register(client, token, body, key=None):
    headers = auth(token)
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/function/member-register", json=body, headers=headers)


def registered(client, token, **body) -> dict:
    body.setdefault("name", "Li Lei")
    body.setdefault("phone", phone())
    response = register(client, token, body)
    assert response.status_code == 201, response.text
    return response.json()


def wait_for(predicate, timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def member(client, token, ref) -> dict:
    return client.get(f"/function/member-get/{ref}", headers=auth(token)).json()


class TestRegister:
    def test_register_and_find_by_every_spelling_of_the_phone(self, client, cashier):
        number = phone()
        spelt = f"+86 {number[:3]} {number[3:7]} {number[7:]}"
        created = registered(client, cashier, name="韩梅梅", phone=spelt, email=" Mei@Example.COM ")
        assert created["phone"] == number and created["email"] == "mei@example.com"
        assert created["code"] == f"M{created['id']:08d}" and created["tier"] == "normal"
        assert created["points_balance"] == 0 and created["lifetime_spend"] == "0.00"
        for spelling in (number, f"86-{number}", spelt, f"0086{number}"):
            found = client.get("/function/member-get", params={"phone": spelling}, headers=auth(cashier))
            assert found.status_code == 200 and found.json()["id"] == created["id"], spelling
        assert member(client, cashier, created["code"])["id"] == created["id"]
        assert member(client, cashier, created["id"])["id"] == created["id"]
        by_email = client.get("/function/member-get", params={"email": "MEI@example.com"}, headers=auth(cashier))
        assert by_email.json()["id"] == created["id"]

    def test_a_phone_or_email_taken_is_409_naming_it_without_echoing_it(self, client, cashier):
        number = phone()
        registered(client, cashier, phone=number, email=f"{number}@x.example")
        taken = register(client, cashier, {"name": "B", "phone": f"+86{number}"})
        assert_error(taken, 409, "already_taken", "phone")
        assert number not in taken.text
        assert_error(register(client, cashier, {"name": "B", "email": f"{number.upper()}@X.example"}), 409,
                     "already_taken", "email")

    def test_a_retry_with_the_same_key_registers_once(self, client, cashier):
        body, key = {"name": "Retry", "phone": phone()}, unique("key")
        first, again = register(client, cashier, body, key), register(client, cashier, body, key)
        assert first.status_code == again.status_code == 201 and again.json()["id"] == first.json()["id"]
        assert again.headers["Idempotent-Replayed"] == "true"

    @pytest.mark.parametrize("body, field", [
        ({"phone": "13800138000"}, "name"),
        ({"name": "x"}, "phone"),
        ({"name": "x", "phone": "12ab"}, "phone"),
        ({"name": "x", "phone": "123"}, "phone"),
        ({"name": "x", "email": "not-an-email"}, "email"),
        ({"name": "x", "phone": "13800138000", "vip": True}, "vip"),
    ])
    def test_bad_input_is_422_naming_the_field(self, client, cashier, body, field):
        assert_error(register(client, cashier, body), 422, "validation_error", field)

    def test_roles(self, client, make_user, cashier):
        warehouse = make_user("warehouse")[1]
        assert_error(register(client, warehouse, {"name": "x", "phone": phone()}), 403, "forbidden")
        created = registered(client, cashier)
        # personal data is for the staff who serve members only
        assert_error(client.get(f"/function/member-get/{created['id']}", headers=auth(warehouse)), 403)
        assert_error(client.get("/function/member-list", headers=auth(warehouse)), 403)
        assert_error(client.get(f"/function/member-get/{created['id']}"), 401)
        marketing = make_user("marketing")[1]
        assert client.get(f"/function/member-get/{created['id']}", headers=auth(marketing)).status_code == 200
        assert_error(register(client, marketing, {"name": "x", "phone": phone()}), 403)


class TestGetListUpdate:
    def test_get_needs_exactly_one_way_to_name_the_member(self, client, cashier):
        assert_error(client.get("/function/member-get", headers=auth(cashier)), 422, field="member")
        assert_error(client.get("/function/member-get/M99999999", headers=auth(cashier)), 404, "unknown_member")
        assert_error(client.get("/function/member-get/nobody", headers=auth(cashier)), 422, field="member")
        assert_error(client.get("/function/member-get", params={"phone": phone()}, headers=auth(cashier)), 404,
                     "unknown_member", "phone")

    def test_list_searches_names(self, client, cashier):
        name = unique("Wang ")
        created = registered(client, cashier, name=name)
        listed = client.get("/function/member-list", params={"q": name}, headers=auth(cashier)).json()
        assert listed["total"] == 1 and listed["items"][0]["id"] == created["id"]
        assert client.get("/function/member-list", params={"tier": "normal", "page_size": 1},
                          headers=auth(cashier)).json()["page_size"] == 1

    def test_update_name_phone_email_and_active(self, client, cashier):
        created = registered(client, cashier, email=f"{unique('a')}@x.example")
        new_phone = phone()
        response = client.patch(f"/function/member-update/{created['code']}", headers=auth(cashier),
                                json={"name": "New Name", "phone": f"+86 {new_phone}", "is_active": False})
        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["name"] == "New Name" and updated["phone"] == new_phone and updated["is_active"] is False
        removed = client.patch(f"/function/member-update/{created['id']}", json={"phone": ""}, headers=auth(cashier))
        assert removed.status_code == 200 and removed.json()["phone"] is None
        assert_error(client.patch(f"/function/member-update/{created['id']}", json={"email": ""},
                                  headers=auth(cashier)), 422, field="phone")
        other = registered(client, cashier)
        assert_error(client.patch(f"/function/member-update/{created['id']}", json={"phone": other["phone"]},
                                  headers=auth(cashier)), 409, "already_taken", "phone")
        assert_error(client.patch("/function/member-update/M99999999", json={"name": "x"},
                                  headers=auth(cashier)), 404)

    def test_events_carry_no_phone_or_email(self, client, cashier):
        from sqlalchemy import select

        from erp_common.db import transaction
        from erp_common.events import OutboxEvent

        number, email = phone(), f"{unique('p')}@x.example"
        created = registered(client, cashier, phone=number, email=email)
        client.patch(f"/function/member-update/{created['id']}", json={"phone": phone()}, headers=auth(cashier))
        with transaction() as session:
            rows = session.scalars(select(OutboxEvent.data).where(OutboxEvent.type.like("member.%"))).all()
        assert rows and not any(number in row or email in row for row in rows)


class TestTiers:
    def test_read_set_and_recompute(self, client, cashier, marketing, admin_token):
        tiers = [{"code": "normal", "name": "Normal", "threshold": "0", "discount_rate": "0"},
                 {"code": "silver", "name": "Silver", "threshold": "100", "discount_rate": "0.03"},
                 {"code": "gold", "name": "Gold", "threshold": "1000", "discount_rate": "0.05"}]
        try:
            assert_error(client.put("/function/member-tiers", json={"tiers": tiers}, headers=auth(cashier)), 403)
            response = client.put("/function/member-tiers", json={"tiers": tiers}, headers=auth(marketing))
            assert response.status_code == 200, response.text
            read = client.get("/function/member-tiers", headers=auth(cashier)).json()["tiers"]
            assert [t["code"] for t in read] == ["normal", "silver", "gold"] and read[2]["discount_rate"] == "0.05"
            rich = registered(client, cashier)
            from sqlalchemy import update

            from erp_common.db import transaction
            from erp_common.membership.models import Member

            with transaction() as session:
                session.execute(update(Member).where(Member.id == rich["id"]).values(lifetime_spend=1500))
            run = client.post("/function/job-member-tiers", headers=auth(admin_token)).json()
            assert run["status"] == "succeeded", run
            assert member(client, cashier, rich["id"])["tier"] == "gold"
        finally:
            client.put("/function/member-tiers", headers=auth(marketing),
                       json={"tiers": [{"code": "normal", "name": "Normal", "threshold": "0", "discount_rate": "0"}]})

    @pytest.mark.parametrize("tiers, field", [
        ([{"code": "a", "name": "A", "threshold": "10", "discount_rate": "0"}], "tiers"),
        ([{"code": "a", "name": "A", "threshold": "0", "discount_rate": "1"}], "tiers[0].discount_rate"),
        ([{"code": "a", "name": "A", "threshold": "0", "discount_rate": "0"},
          {"code": "a", "name": "B", "threshold": "5", "discount_rate": "0"}], "tiers[1].code"),
        ([{"code": "a", "name": "A", "threshold": "-1", "discount_rate": "0"}], "tiers[0].threshold"),
        ([{"code": "A B", "name": "A", "threshold": "0", "discount_rate": "0"}], "tiers[0].code"),
    ])
    def test_bad_tiers_are_422_naming_the_field(self, client, marketing, tiers, field):
        assert_error(client.put("/function/member-tiers", json={"tiers": tiers}, headers=auth(marketing)), 422,
                     field=field)


class TestPoints:
    def test_adjust_never_below_zero_and_the_ledger_sums_to_the_balance(self, client, cashier, make_user):
        manager = make_user("manager")[1]
        created = registered(client, cashier)
        url = f"/function/member-points-adjust/{created['id']}"
        assert_error(client.post(url, json={"points": 5, "reason": "x"}, headers=auth(cashier)), 403)
        assert client.post(url, json={"points": 50, "reason": "welcome"}, headers=auth(manager)).status_code == 201
        assert_error(client.post(url, json={"points": -51, "reason": "too much"}, headers=auth(manager)), 409,
                     "insufficient_points", "points")
        taken = client.post(url, json={"points": -20, "reason": "fix"}, headers=auth(manager))
        assert taken.status_code == 201 and taken.json()["balance_after"] == 30
        assert_error(client.post(url, json={"points": 0, "reason": "x"}, headers=auth(manager)), 422, field="points")
        assert_error(client.post(url, json={"points": 1}, headers=auth(manager)), 422, field="reason")
        ledger = client.get(f"/function/member-points/{created['code']}", headers=auth(cashier)).json()
        assert [e["points"] for e in ledger["items"]] == [-20, 50] and ledger["items"][1]["remaining"] == 30
        assert member(client, cashier, created["id"])["points_balance"] == 30


def _order(client, token, member_id, sku, qty=2) -> dict:
    response = client.post("/function/order-create", headers=auth(token),
                           json={"customer_id": member_id, "lines": [{"sku": sku, "qty": qty}]})
    assert response.status_code == 201, response.text
    return response.json()


def _pay(client, token, order) -> None:
    response = client.post(f"/function/order-pay/{order['id']}", json={"amount": order["total_amount"]},
                           headers=auth(token))
    assert response.status_code == 200, response.text


def _points(client, token, member_id) -> int:
    return member(client, token, member_id)["points_balance"]


def _ledger(member_id) -> list[tuple[str, int]]:
    from sqlalchemy import select

    from erp_common.db import transaction
    from erp_common.membership.models import PointsEntry

    with transaction() as session:
        return [(r.kind, r.points) for r in session.execute(
            select(PointsEntry.kind, PointsEntry.points).where(PointsEntry.member_id == member_id)
            .order_by(PointsEntry.id))]


def _outbox_id(order_id: int, event_type: str) -> list[str]:
    from sqlalchemy import select

    from erp_common.db import transaction
    from erp_common.events import OutboxEvent

    with transaction() as session:
        rows = session.execute(select(OutboxEvent.id, OutboxEvent.data).where(OutboxEvent.type == event_type)).all()
    return [r.id for r in rows if f'"order_id":{order_id},' in r.data]


class TestPointsFromOrders:
    def test_paid_earns_once_even_delivered_five_times_and_a_return_reverses_its_share(
            self, client, cashier, make_sku, put_stock):
        sku_id, _ = make_sku("99.50")
        put_stock(sku_id, 10)
        created = registered(client, cashier)
        order = _order(client, cashier, created["id"], sku_id, qty=2)  # 199.00 -> 199 points
        _pay(client, cashier, order)
        assert wait_for(lambda: _points(client, cashier, created["id"]) == 199)
        (event_id,) = _outbox_id(order["id"], "order.paid")
        for _ in range(5):
            again = client.post("/function/member-on-order-paid", json={"id": event_id, "type": "order.paid"})
            assert again.status_code == 200 and again.json()["status"] == "already_processed"
        assert _points(client, cashier, created["id"]) == 199 and _ledger(created["id"]) == [("earn", 199)]
        assert member(client, cashier, created["id"])["lifetime_spend"] == "199.00"
        client.post(f"/function/order-ship/{order['id']}", json={}, headers=auth(cashier))
        returned = client.post(f"/function/order-return/{order['id']}", json={"lines": [{"line_no": 1, "qty": 1}]},
                               headers=auth(cashier))
        assert returned.status_code == 200, returned.text
        # 199 points for 199.00; 99.50 kept earns 99: 100 reversed
        assert wait_for(lambda: _points(client, cashier, created["id"]) == 99)
        assert member(client, cashier, created["id"])["lifetime_spend"] == "99.50"

    def test_a_paid_order_cancelled_takes_its_points_back(self, client, cashier, make_sku, put_stock):
        sku_id, _ = make_sku("40.00")
        put_stock(sku_id, 5)
        created = registered(client, cashier)
        order = _order(client, cashier, created["id"], sku_id, qty=1)
        _pay(client, cashier, order)
        assert wait_for(lambda: _points(client, cashier, created["id"]) == 40)
        cancelled = client.post(f"/function/order-cancel/{order['id']}", json={}, headers=auth(cashier))
        assert cancelled.status_code == 200, cancelled.text
        assert wait_for(lambda: _ledger(created["id"]) == [("earn", 40), ("reverse", -40)])
        assert member(client, cashier, created["id"])["lifetime_spend"] == "0.00"
        unpaid = _order(client, cashier, created["id"], sku_id, qty=1)  # an unpaid cancel changes nothing
        client.post(f"/function/order-cancel/{unpaid['id']}", json={}, headers=auth(cashier))
        (event_id,) = _outbox_id(unpaid["id"], "order.cancelled")
        done = client.post("/function/member-on-order-cancelled", json={"id": event_id})
        assert done.status_code == 200 and _ledger(created["id"]) == [("earn", 40), ("reverse", -40)]

    def test_a_return_processed_before_the_payment_settles_the_same(self, client, cashier, make_sku, put_stock):
        """Out of order: the return's event is handled first, then the payment's; then both again."""
        from erp_common import uow
        from erp_common.events import load_event
        from erp_common.membership import services

        created = registered(client, cashier)
        paid, returned = _envelopes(created["id"], order_id=10_000_000 + created["id"])
        caller = uow.system_caller("test")
        uow.run(lambda ctx: services.on_order_returned(ctx, returned), caller)
        assert _ledger(created["id"]) == []
        uow.run(lambda ctx: services.on_order_paid(ctx, paid), caller)
        uow.run(lambda ctx: services.on_order_paid(ctx, paid), caller)
        uow.run(lambda ctx: services.on_order_returned(ctx, returned), caller)
        assert _ledger(created["id"]) == [("earn", 300), ("reverse", -100)]
        assert _points(client, cashier, created["id"]) == 200
        assert load_event  # the consumers get what load_event builds: an Envelope with the typed event

    def test_points_already_spent_are_reversed_down_to_zero_only(self, client, cashier):
        from erp_common import uow
        from erp_common.membership import services

        created = registered(client, cashier)
        paid, returned = _envelopes(created["id"], order_id=20_000_000 + created["id"])
        caller = uow.system_caller("test")
        uow.run(lambda ctx: services.on_order_paid(ctx, paid), caller)
        uow.run(lambda ctx: services.redeem_points(ctx, created["id"], 250, "order:1"), caller)
        uow.run(lambda ctx: services.on_order_returned(ctx, returned), caller)
        assert _points(client, cashier, created["id"]) == 0
        assert _ledger(created["id"]) == [("earn", 300), ("redeem", -250), ("reverse", -50)]

    def test_expire_job_takes_the_old_unspent_points_only(self, client, cashier, admin_token):
        from sqlalchemy import update

        from erp_common import uow
        from erp_common.db import transaction, utcnow
        from erp_common.membership import services
        from erp_common.membership.models import PointsEntry

        created = registered(client, cashier)
        caller = uow.system_caller("test")

        def give(points, origin):
            def work(ctx):
                services.post_points(ctx, services.load_member(ctx.session, created["id"], lock=True), "adjust",
                                     points, origin)
            uow.run(work, caller)

        give(100, "old")
        give(40, "new")
        uow.run(lambda ctx: services.redeem_points(ctx, created["id"], 30, "order:x"), caller)  # from "old"
        with transaction() as session:
            session.execute(update(PointsEntry).where(PointsEntry.member_id == created["id"],
                                                      PointsEntry.origin == "old")
                            .values(expires_at=utcnow() - timedelta(seconds=1)))
        run = client.post("/function/job-expire-points", headers=auth(admin_token)).json()
        assert run["status"] == "succeeded" and run["processed"] >= 70
        assert _points(client, cashier, created["id"]) == 40
        assert _ledger(created["id"])[-1] == ("expire", -70)
        again = client.post("/function/job-expire-points", headers=auth(admin_token)).json()
        assert again["status"] == "succeeded"
        assert _points(client, cashier, created["id"]) == 40

    def test_forged_or_unknown_events_change_nothing(self, client):
        assert_error(client.post("/function/member-on-order-paid", json={"id": "nope"}), 404, "unknown_event")
        assert_error(client.post("/function/member-on-order-returned", content=b"[]"), 422)


def _envelopes(member_id: int, order_id: int):
    from erp_common.db import utcnow
    from erp_common.events import Envelope
    from erp_common.sales.api import OrderLineRef, OrderPaid, OrderReturned

    now = utcnow()
    paid = Envelope("p", now, OrderPaid(order_id=order_id, number="SO1", customer_id=member_id, amount="300.00",
                                        method="cash", by="t"))
    returned = Envelope("r", now, OrderReturned(
        order_id=order_id, number="SO1", customer_id=member_id, refund_id=1, amount="100.00",
        refunded_total="100.00", status="partially_returned", by="t",
        lines=[OrderLineRef(line_no=1, sku_id=1, sku_code="X", qty=1)]))
    return paid, returned


def test_the_seed_paths_health_and_docs(client, cashier):
    response = client.post("/member/register", json={"name": "Seed", "phone": phone()}, headers=auth(cashier))
    assert response.status_code == 201, response.text
    assert client.get(f"/member/get/{response.json()['id']}", headers=auth(cashier)).status_code == 200
    assert client.get("/member/health").json()["status"] == "ok"
    spec = client.get("/member/openapi.json").json()
    assert "/function/member-register" in spec["paths"]


def test_the_ce_packing_serves_members_and_awards_points_through_the_events_function(
        database, make_sku, put_stock, make_user):
    """stack.ce.yml: the member and promo packs, and the one ``events`` function that dispatches
    order.paid to member-on-order-paid."""
    import httpx

    from tests.conftest import ROOT, RunningGateway

    sku_id, _ = make_sku("25.00")
    put_stock(sku_id, 5)
    token = make_user("cashier")[1]
    running = RunningGateway(ROOT / "stack.ce.yml")
    try:
        with httpx.Client(base_url=running.url, timeout=30, headers=auth(token)) as http:
            member = http.post("/function/member/register", json={"name": "CE", "phone": phone()})
            assert member.status_code == 201, member.text
            member_id = member.json()["id"]
            quote = http.post("/function/promo/price-quote", json={"customer_id": member_id,
                                                                   "lines": [{"sku": sku_id, "qty": 2}]})
            assert quote.status_code == 200 and quote.json()["total"] == "50.00"
            order = http.post("/function/order/create", json={"customer_id": member_id,
                                                              "lines": [{"sku": sku_id, "qty": 2}]}).json()
            assert http.post(f"/function/order/pay/{order['id']}", json={"amount": "50.00"}).status_code == 200
            assert wait_for(lambda: http.get(f"/function/member/get/{member_id}").json()["points_balance"] == 50)
    finally:
        running.close()
