"""NATS killed while orders are taken, and the gateway restarted before NATS comes back: every event
reaches a subscriber exactly once (counted by event id), nothing is marked published unacknowledged.

On MariaDB (the services backend), with a nats-server of the test's own (``tests/nats_server.py``)
and ``erp run`` in a process of its own, killed with SIGKILL as a crash would.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import pytest

from tests.conftest import BACKEND, ErpRun, auth

pytestmark = pytest.mark.skipif(BACKEND != "services", reason="proves the MariaDB + NATS deployment")
ORDERS = 100


def Gateway(nats_url: str) -> ErpRun:  # noqa: N802 - reads as the gateway it starts
    """``erp run`` on a free port, pointed at the test's NATS (redeliveries through itself)."""
    return ErpRun({"NATS_URL": nats_url})


class Subscriber:
    """A plain NATS subscription (as the OpenFaaS NATS connector has) counting events by id."""

    def __init__(self, url: str, subjects: list[str]) -> None:
        self.received: dict[str, int] = {}
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def start():
            import nats

            self.nc = await nats.connect(url)

            async def on_message(msg):
                event_id = json.loads(msg.data)["id"]
                self.received[event_id] = self.received.get(event_id, 0) + 1

            for subject in subjects:
                await self.nc.subscribe(subject, cb=on_message)
            await self.nc.flush()
            ready.set()

        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(start(), self.loop)
        assert ready.wait(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.nc.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


def _order_events(numbers: list[str]) -> dict[str, str]:
    """{event id: order number} of the order.created events of these orders, from the outbox."""
    from sqlalchemy import select

    from erp_common.db import transaction
    from erp_common.events import OutboxEvent

    with transaction() as session:
        rows = session.execute(select(OutboxEvent.id, OutboxEvent.data, OutboxEvent.published_at)
                               .where(OutboxEvent.type == "order.created")).all()
    wanted = set(numbers)
    return {row.id: json.loads(row.data)["number"] for row in rows if json.loads(row.data)["number"] in wanted}


def _unpublished(event_ids) -> int:
    from sqlalchemy import func, select

    from erp_common.db import transaction
    from erp_common.events import OutboxEvent

    with transaction() as session:
        return session.scalar(select(func.count()).select_from(OutboxEvent).where(
            OutboxEvent.id.in_(list(event_ids)), OutboxEvent.published_at.is_(None)))


def test_events_of_orders_taken_while_nats_is_down_arrive_once_after_a_gateway_crash(
        own_nats, make_user, make_sku, put_stock):
    sku_id, _ = make_sku("5.00")
    put_stock(sku_id, ORDERS + 10)
    token = make_user("cashier")[1]
    admin = auth(make_user("admin")[1])  # runs the relay now, whatever ran in this minute
    gateway = Gateway(own_nats.url)
    outputs = []
    try:
        http = httpx.Client(base_url=gateway.url, timeout=30, headers=auth(token))
        first = http.post("/function/order-create", json={"lines": [{"sku": sku_id, "qty": 1}]})
        assert first.status_code == 201, first.text
        first_event = _order_events([first.json()["number"]])
        deadline = time.monotonic() + 15  # the publisher connects and the first event is acknowledged
        while _unpublished(first_event) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _unpublished(first_event) == 0

        own_nats.kill()
        numbers = []
        for _ in range(ORDERS):
            response = http.post("/function/order-create", json={"lines": [{"sku": sku_id, "qty": 1}]})
            assert response.status_code == 201, response.text  # taking orders does not need NATS
            numbers.append(response.json()["number"])
        events = _order_events(numbers)
        assert len(events) == ORDERS
        time.sleep(1)
        outputs.append(gateway.crash())  # before NATS is back: whatever it held in memory is gone
        assert _unpublished(events) == ORDERS  # nothing was marked published without an acknowledgement

        gateway = Gateway(own_nats.url)  # starts while NATS is still down
        outputs.append("")
        own_nats.start()
        subscriber = Subscriber(own_nats.url, ["order.created"])
        try:
            time.sleep(5)  # the relay sends what is older than 5 s (younger may still be on its way)
            relay = httpx.post(gateway.url + "/function/job-relay-events", headers=admin, timeout=60)
            assert relay.status_code == 200, relay.text
            assert relay.json()["status"] == "succeeded", relay.text
            deadline = time.monotonic() + 15
            while not set(events) <= set(subscriber.received) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert set(events) <= set(subscriber.received), f"{len(set(events) - set(subscriber.received))} lost"
            again = httpx.post(gateway.url + "/function/job-relay-events", headers=admin, timeout=60)
            assert again.json()["summary"]["published"] == 0  # all marked: a second relay sends nothing
            time.sleep(0.5)
            assert all(subscriber.received[event_id] == 1 for event_id in events), "an event arrived twice"
            assert _unpublished(events) == 0
        finally:
            subscriber.close()
    finally:
        outputs.append(gateway.stop())
    log = "\n".join(outputs)
    assert "Traceback" not in log, log[-3000:]
    assert log.count("NATS is not reachable") <= 4, log[-3000:]  # one warning per client, not one a second
