"""A stock row locked for a long time (a stuck transaction, an operator's console): the orders that
need it answer 503 ``database_busy`` with Retry-After within 10 s, and everything else goes on.

On MariaDB (the services backend): a connection of the test's own holds ``SELECT ... FOR UPDATE``
on one SKU's stock row for 20 s while orders are sent through the gateway.
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from tests.conftest import BACKEND, auth

pytestmark = pytest.mark.skipif(BACKEND != "services", reason="row locks as MariaDB takes them")
HELD = 20.0


def _hold_the_row(sku_id: int, locked: threading.Event, release: threading.Event) -> None:
    import pymysql

    url = urlsplit(os.environ["DATABASE_URL"].replace("mysql+pymysql", "mysql"))
    conn = pymysql.connect(host=url.hostname, port=url.port or 3306, user=url.username or "root",
                           password=url.password or "", database=url.path.lstrip("/").split("?")[0],
                           autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM stock_levels WHERE sku_id = %s FOR UPDATE", (sku_id,))
            locked.set()
            release.wait(HELD)
        conn.rollback()
    finally:
        conn.close()


def test_a_held_row_lock_is_503_within_10_s_and_blocks_nothing_else(client, make_user, make_sku, put_stock):
    hot, hot_code = make_sku("2.00")
    cold, _ = make_sku("3.00")
    put_stock(hot, 100)
    put_stock(cold, 100)
    headers = auth(make_user("cashier")[1])
    locked, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_the_row, args=(hot, locked, release))
    holder.start()
    try:
        assert locked.wait(10)

        def order(sku_id: int):
            started = time.monotonic()
            response = client.post("/function/order-create", json={"lines": [{"sku": sku_id, "qty": 1}]},
                                   headers=headers)
            return response, time.monotonic() - started

        with ThreadPoolExecutor(4) as pool:
            blocked = [pool.submit(order, hot) for _ in range(4)]
            time.sleep(0.5)  # the hot orders are waiting for the lock now
            timings = {}
            for name, call in {
                "healthz": lambda: client.get("/healthz"),
                "sku-get": lambda: client.get("/function/sku-get", params={"code": hot_code}, headers=headers),
                "stock-query": lambda: client.get("/function/stock-query", params={"sku": hot}, headers=headers),
                "order for another SKU": lambda: client.post(
                    "/function/order-create", json={"lines": [{"sku": cold, "qty": 1}]}, headers=headers),
            }.items():
                started = time.monotonic()
                response = call()
                timings[name] = (response.status_code, time.monotonic() - started)
            for name, (status, seconds) in timings.items():
                assert status in (200, 201) and seconds < 1.5, (name, status, seconds)
            waits = []
            for future in blocked:
                response, seconds = future.result()
                waits.append(round(seconds, 2))
                assert response.status_code == 503, response.text
                assert response.json()["error"]["code"] == "database_busy"
                assert response.headers["Retry-After"] and seconds < 10, seconds
            print(f"\nheld row lock: others {({k: round(v[1], 3) for k, v in timings.items()})}, "
                  f"blocked orders answered 503 after {waits} s")
    finally:
        release.set()
        holder.join(30)
    ok = client.post("/function/order-create", json={"lines": [{"sku": hot, "qty": 1}]}, headers=headers)
    assert ok.status_code == 201, ok.text  # the lock gone, the SKU sells again
