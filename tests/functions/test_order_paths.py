"""The order path's prepared statements (``erp_common.prepared``, on the driver's cursor) against the
general path (the same statements through SQLAlchemy Core): the same scenarios run both ways,
through the gateway over HTTP, must answer the same and leave the same rows.

Each run makes its own SKUs (codes with a prefix of its own) and goes through what the hot
writes share: orders created, refused (short stock, unknown SKU, wrong price, a SKU listed twice),
retried with an Idempotency-Key, paid, shipped in parts, returned and cancelled; stock received
into a warehouse where the SKU has no row yet. What it answered and what it wrote (stock rows,
ledger rows, outbox events) are normalised (ids, numbers and times become tokens in the order
they first appear) and compared.
"""
from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from erp_common import prepared
from tests.conftest import auth

ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
# Values that differ between two runs of one scenario: each becomes a token by key family.
FAMILIES = {"id": "id", "order_id": "order", "number": "number", "doc_id": "number", "sku_id": "sku",
            "stock_level_id": "level", "origin_id": "origin", "event_id": "event", "order": "number",
            "payment_id": "payment", "shipment_id": "shipment", "refund_id": "refund", "ledger_ids": "ledger"}
VARYING = ("X-Request-Id", "X-Call-Id", "X-Duration-Seconds", "Date", "Content-Length")


class Tokens:
    def __init__(self, prefix: str) -> None:
        self.prefix, self.seen = prefix, {}

    def token(self, family: str, value: Any) -> str:
        key = (family, json.dumps(value, default=str))
        if key not in self.seen:
            self.seen[key] = f"<{family}{sum(1 for f, _ in self.seen if f == family)}>"
        return self.seen[key]

    def normalise(self, value: Any, key: str | None = None, within: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self.normalise(v, k, key or within) for k, v in value.items()}
        if isinstance(value, list):
            return [self.normalise(v, key, within) for v in value]
        if key in FAMILIES and value is not None:  # an "id" is a payment's, a shipment's...: by where it is
            return self.token(FAMILIES[key] + ("@" + within if key == "id" else ""), value)
        if isinstance(value, str):
            if ISO_TIME.match(value):
                return "<time>"
            return value.replace(self.prefix, "P-")
        return value


def scenario(client, token: str, make_sku, put_stock, second_warehouse: int) -> tuple[list, dict]:
    """One run: what every call answered, and the rows it left, normalised."""
    from sqlalchemy import or_, select

    from erp_common.db import transaction
    from erp_common.events import OutboxEvent
    from erp_common.inventory.models import StockLedgerEntry, StockLevel

    prefix = f"PATH{uuid.uuid4().hex[:6]}-"
    tokens = Tokens(prefix)
    skus = [make_sku(price, code=f"{prefix}{i}") for i, price in enumerate(("10.00", "12.345", "7.50"))]
    for sku_id, _ in skus[:2]:
        put_stock(sku_id, 20)
    put_stock(skus[2][0], 5, second_warehouse)  # a SKU with no stock row there yet: created, then received
    a, b, c = (code for _, code in skus)
    answers, numbers = [], set()

    def call(method: str, path: str, body: dict | None = None, key: str | None = None) -> dict:
        headers = auth(token)
        if key:
            headers["Idempotency-Key"] = key
        response = client.request(method, path, json=body, headers=headers)
        headers = {k: v for k, v in response.headers.items() if k.title() not in VARYING}
        answers.append((method, path.split("/")[2], response.status_code, tokens.normalise(headers),
                        tokens.normalise(response.json())))
        if response.status_code == 201:
            numbers.add(response.json()["number"])
        return response.json()

    order = call("POST", "/function/order-create", {"lines": [{"sku": a, "qty": 2}, {"sku": skus[1][0], "qty": "3"}]})
    key = uuid.uuid4().hex
    again = call("POST", "/function/order-create", {"lines": [{"sku": b, "qty": 1}], "note": "keyed"}, key)
    call("POST", "/function/order-create", {"lines": [{"sku": b, "qty": 1}], "note": "keyed"}, key)  # replayed
    call("POST", "/function/order-create", {"lines": [{"sku": a, "qty": 1}], "note": "other body"}, key)  # 422
    call("POST", "/function/order-create", {"lines": [{"sku": a, "qty": 19}, {"sku": b, "qty": 1}]})  # short
    call("POST", "/function/order-create", {"lines": [{"sku": a, "qty": 1}, {"sku": prefix + "none", "qty": 1}]})
    call("POST", "/function/order-create", {"lines": [{"sku": a, "qty": 1, "unit_price": "9.99"}]})
    call("POST", "/function/order-create", {"lines": [{"sku": a, "qty": 1}, {"sku": skus[0][0], "qty": 1}]})
    call("POST", "/function/order-create", {"lines": [{"sku": c, "qty": 1}], "warehouse_id": second_warehouse})
    number = order["number"]
    call("POST", f"/function/order-pay/{number}", {"amount": order["total_amount"], "method": "card"})
    call("POST", f"/function/order-ship/{number}", {"lines": [{"line_no": 1, "qty": 1}]})
    call("POST", f"/function/order-ship/{number}")
    call("POST", f"/function/order-return/{number}", {"lines": [{"line_no": 2, "qty": 1}], "reason": "torn"})
    call("POST", f"/function/order-cancel/{again['number']}", {"reason": "changed my mind"})

    ids = [sku_id for sku_id, _ in skus]
    with transaction() as session:
        levels = [tokens.normalise({"sku_id": r.sku_id, "on_hand": str(r.on_hand), "reserved": str(r.reserved),
                                    "warehouse": r.warehouse_id == second_warehouse})
                  for r in session.scalars(select(StockLevel).where(StockLevel.sku_id.in_(ids))
                                           .order_by(StockLevel.sku_id, StockLevel.warehouse_id))]
        ledger = [tokens.normalise({
            "sku_id": r.sku_id, "stock_level_id": r.stock_level_id, "type": r.type, "qty_on_hand": str(r.qty_on_hand),
            "qty_reserved": str(r.qty_reserved), "on_hand_after": str(r.on_hand_after),
            "reserved_after": str(r.reserved_after), "doc_type": r.doc_type, "doc_id": r.doc_id,
            "origin_type": r.origin_type, "origin_id": r.origin_id, "unit_cost": str(r.unit_cost),
            "reason": r.reason, "actor": r.actor, "created_at": r.created_at.isoformat()})
            for r in session.scalars(select(StockLedgerEntry).where(StockLedgerEntry.sku_id.in_(ids))
                                     .order_by(StockLedgerEntry.id))]
        outbox = [tokens.normalise({"type": r.type, "version": r.version, "data": json.loads(r.data),
                                    "occurred_at": r.occurred_at.isoformat()})
                  for r in session.scalars(select(OutboxEvent).where(or_(*[OutboxEvent.data.contains(text)
                                                                          for text in (prefix, *sorted(numbers))]))
                                           .order_by(OutboxEvent.occurred_at, OutboxEvent.type))]
    return answers, {"levels": levels, "ledger": ledger, "outbox": outbox}


@pytest.fixture(scope="module")
def second_warehouse(client, admin_token) -> int:
    response = client.post("/function/warehouse-create", json={"code": f"WPATH{uuid.uuid4().hex[:6]}",
                                                               "name": "paths"}, headers=auth(admin_token))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_the_prepared_statements_answer_and_write_as_the_general_path(client, admin_token, make_sku, put_stock,
                                                                      second_warehouse, monkeypatch):
    assert prepared.driver_level(), "the prepared path is the default"
    fast = scenario(client, admin_token, make_sku, put_stock, second_warehouse)
    monkeypatch.setattr(prepared, "driver_level", lambda: False)
    general = scenario(client, admin_token, make_sku, put_stock, second_warehouse)
    for mine, theirs in zip(fast[0], general[0], strict=True):
        assert mine == theirs
    for part in ("levels", "ledger", "outbox"):
        assert len(fast[1][part]) == len(general[1][part]), part
        for mine, theirs in zip(fast[1][part], general[1][part], strict=True):
            assert mine == theirs, part
    # The scenario went where it was meant to: every kind of answer, every kind of stock line.
    assert [status for *_, status, _, _ in fast[0]] == [201, 201, 201, 422, 409, 404, 409, 422, 201, 200, 200, 200,
                                                      200, 200]
    assert fast[0][2][3].get("idempotent-replayed") == "true"
    assert {row["type"] for row in fast[1]["ledger"]} == {"receipt", "reserve", "sale", "return", "release"}
    assert {event["type"] for event in fast[1]["outbox"]} >= {"order.created", "order.paid", "order.shipped",
                                                               "order.returned", "order.cancelled", "stock.changed"}
