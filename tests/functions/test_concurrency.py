"""No oversell and no double work under concurrency, through the gateway over HTTP, on both backends.

Many clients (threads, each with its own HTTP connection) are released at once by a barrier:
200 of them race for the last 10 units of a SKU; 200 race for 2 SKUs with their lines in
opposite orders (a deadlock, should one happen, is retried: never a 500); 50 send one create
with one Idempotency-Key; 20 create items with one SKU code.
"""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from tests.conftest import auth, unique


def race(gateway, clients: int, request: Callable[[httpx.Client, int], httpx.Response]) -> list[httpx.Response]:
    """Send ``request(http, i)`` from ``clients`` threads at once; every response, in client order."""
    barrier = threading.Barrier(clients)
    responses: list[httpx.Response | BaseException | None] = [None] * clients

    def client(i: int) -> None:
        try:
            with httpx.Client(base_url=gateway.url, timeout=120) as http:
                barrier.wait(timeout=60)
                responses[i] = request(http, i)
        except BaseException as exc:  # reported by the assertion below
            responses[i] = exc

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = [r for r in responses if not isinstance(r, httpx.Response)]
    assert not failed, failed[:3]
    return responses  # type: ignore[return-value]


@pytest.fixture(scope="module")
def cashiers(make_user) -> list[str]:
    return [make_user("cashier")[1] for _ in range(4)]


def order(http: httpx.Client, token: str, lines: list[tuple[int, int]], key: str | None = None) -> httpx.Response:
    headers = auth(token)
    if key:
        headers["Idempotency-Key"] = key
    return http.post("/function/order-create", json={"lines": [{"sku": s, "qty": q} for s, q in lines]},
                     headers=headers)


def never_negative(sku_id: int) -> None:
    """Every balance the ledger recorded for the SKU had on hand >= reserved >= 0."""
    from sqlalchemy import select

    from erp_common.db import transaction
    from erp_common.inventory.models import StockLedgerEntry

    with transaction() as session:
        rows = session.execute(select(StockLedgerEntry.on_hand_after, StockLedgerEntry.reserved_after)
                               .where(StockLedgerEntry.sku_id == sku_id)).all()
    assert rows and all(on_hand >= reserved >= 0 for on_hand, reserved in rows)


def assert_outcome(responses: list[httpx.Response], sold: int) -> None:
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: sold, 409: len(responses) - sold}, statuses
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "insufficient_stock", response.text


def test_200_clients_race_for_the_last_10_units(gateway, cashiers, make_sku, put_stock, stock_of, stock_check):
    sku_id, _ = make_sku("9.90")
    put_stock(sku_id, 10)
    responses = race(gateway, 200, lambda http, i: order(http, cashiers[i % 4], [(sku_id, 1)]))
    assert_outcome(responses, 10)
    on_hand, reserved = stock_of(sku_id)
    assert (on_hand, reserved) == (Decimal(10), Decimal(10)) and on_hand - reserved == 0
    assert len({r.json()["number"] for r in responses if r.status_code == 201}) == 10
    short = next(r for r in responses if r.status_code == 409).json()["error"]["details"][0]
    assert short["sku_id"] == sku_id and short["available"] == "0"
    never_negative(sku_id)
    assert stock_check() == []


def test_two_sku_orders_in_opposite_orders_neither_oversell_nor_fail(gateway, cashiers, make_sku, put_stock,
                                                                      stock_of, stock_check):
    a, _ = make_sku("1.00")
    b, _ = make_sku("2.00")
    put_stock(a, 10)
    put_stock(b, 10)

    def buy(http: httpx.Client, i: int) -> httpx.Response:
        lines = [(a, 1), (b, 1)] if i % 2 else [(b, 1), (a, 1)]
        return order(http, cashiers[i % 4], lines)

    responses = race(gateway, 200, buy)
    assert_outcome(responses, 10)
    assert stock_of(a) == (Decimal(10), Decimal(10)) and stock_of(b) == (Decimal(10), Decimal(10))
    never_negative(a)
    never_negative(b)
    assert stock_check() == []


def test_one_key_sent_50_times_at_once_makes_one_order(gateway, cashiers, make_sku, put_stock, stock_of):
    sku_id, _ = make_sku("5.00")
    put_stock(sku_id, 100)
    key = unique("retry")
    responses = race(gateway, 50, lambda http, i: order(http, cashiers[0], [(sku_id, 2)], key))
    assert Counter(r.status_code for r in responses) == {201: 50}
    assert len({r.json()["number"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 49
    assert stock_of(sku_id) == (Decimal(100), Decimal(2))


def test_one_sku_code_created_20_times_at_once_is_taken_once_and_every_refusal_names_the_field(gateway,
                                                                                               admin_token):
    code = unique("RACE-")

    def create(http: httpx.Client, i: int) -> httpx.Response:
        body = {"name": unique("race"), "category_id": 1, "price": "5.00", "skus": [{"specs": {}, "code": code}]}
        return http.post("/function/item-create", json=body, headers=auth(admin_token))

    responses = race(gateway, 20, create)
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 19}, [r.text for r in responses][:3]
    for response in responses:
        if response.status_code == 409:
            # Refused by the service's check ("skus[0].code") or, when another request took the code
            # between that check and the insert, by the database's unique key ("code").
            error = response.json()["error"]
            assert error["code"] in ("sku_code_taken", "already_taken"), error
            assert error["details"][0]["field"] in ("skus[0].code", "code"), error
