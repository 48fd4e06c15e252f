"""Points exactly once while NATS is down: a NATS server of this test's own is stopped while 100
orders are paid; half of the events are then re-delivered by the redelivery job's path (straight
through the gateway), NATS comes back, the relay publishes all 100 (the 50 handled ones again),
the redelivery sends whatever NATS lost, and every member has the points of their order, once.
(On both backends: the test's gateway and publisher use its own NATS server, not the suite's.)"""
from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import ROOT, RunningGateway, auth
from tests.functions.test_membership import phone, wait_for
from tests.nats_server import NATS_SERVER, OwnNats

pytestmark = pytest.mark.skipif(NATS_SERVER is None, reason="needs nats-server")


@pytest.fixture
def nats_and_gateway(database):
    """A NATS server of this test's own, the publisher and a gateway pointed at it; all restored after."""
    from erp_common import config, events

    server = OwnNats()
    before = config.get_settings()
    events.reset_publisher()
    config.configure(dataclasses.replace(before, nats_url=server.url))
    running = RunningGateway(ROOT / "stack.yml")
    try:
        yield server, running
    finally:
        running.close()
        events.reset_publisher()
        config.configure(before)
        server.kill()
        server.dir.cleanup()


def test_points_arrive_once_after_nats_is_back(nats_and_gateway, make_user, make_sku, put_stock):
    from sqlalchemy import func, select

    from erp_common import events
    from erp_common.db import transaction
    from erp_common.membership.models import PointsEntry

    cashier = make_user("cashier")[1]
    sku_id, _ = make_sku("10.00")
    put_stock(sku_id, 1000)
    server, gateway = nats_and_gateway
    url = gateway.url
    with httpx.Client(base_url=url, timeout=60, headers=auth(cashier)) as http:
        members, orders = [], []
        for i in range(100):
            member = http.post("/function/member-register", json={"name": f"N{i}", "phone": phone()}).json()["id"]
            qty = 1 + i % 3  # 10, 20 or 30 points
            order = http.post("/function/order-create",
                              json={"customer_id": member, "lines": [{"sku": sku_id, "qty": qty}]}).json()
            members.append((member, 10 * qty))
            orders.append(order)

        server.kill()  # NATS goes down

        def pay(order):
            with httpx.Client(base_url=url, timeout=60, headers=auth(cashier)) as client:
                return client.post(f"/function/order-pay/{order['id']}", json={"amount": order["total_amount"]})

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert all(r.status_code == 200 for r in pool.map(pay, orders))
        events.background.wait(60)  # the publisher gave up on them: they stay unpublished in the outbox

        def points(member_id: int) -> int:
            return http.get(f"/function/member-get/{member_id}").json()["points_balance"]

        assert sum(points(m) for m, _ in members) == 0

        # the redelivery job's path, for the first 50 events: straight through the gateway
        def deliver(function: str, topic: str, payload: bytes) -> int:
            return httpx.post(f"{url}/function/{function}", content=payload, timeout=30,
                              headers={"Content-Type": "application/json", "X-Topic": topic}).status_code

        done = events.redeliver_unprocessed({"order.paid": ["member-on-order-paid"]}, deliver, min_age_seconds=0,
                                            limit=50)
        assert done["redelivered"] == 50

        # NATS is back: the relay publishes every unpublished event (the 50 handled ones too)
        server.start()  # on the same port and JetStream store
        assert wait_for(lambda: events.relay_pending(older_than_seconds=0)["pending"] == 0, timeout=60)
        # NATS delivers at most once: what reached it before the gateway's connector had subscribed
        # again is lost, and the redelivery (job-relay-events, a minute on) sends those
        wait_for(lambda: all(points(m) == want for m, want in members), timeout=10)
        events.redeliver_unprocessed({"order.paid": ["member-on-order-paid"]}, deliver, min_age_seconds=0)
        assert wait_for(lambda: all(points(m) == want for m, want in members), timeout=60)
        # a further run of the redelivery finds nothing left, and nothing was awarded twice
        again = events.redeliver_unprocessed({"order.paid": ["member-on-order-paid"]}, deliver, min_age_seconds=0)
        assert again["redelivered"] == 0
        time.sleep(0.5)
        assert all(points(m) == want for m, want in members)
        with transaction() as session:
            earned = dict(session.execute(select(PointsEntry.member_id, func.count()).where(
                PointsEntry.member_id.in_([m for m, _ in members]), PointsEntry.kind == "earn")
                .group_by(PointsEntry.member_id)).all())
        assert earned == {m: 1 for m, _ in members}
