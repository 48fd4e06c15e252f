"""Catalog reads over 100,000 SKUs on MariaDB, and the 10,000-row CSV import.

Seeds 110 categories (10 top-level, 10 children each), 25,000 items and 100,000 SKUs with
SQLAlchemy core in batches (seconds, not 100,000 HTTP calls), then measures through the local
gateway, each beside a raw-SQL baseline (PyMySQL, no web stack, no ORM) run in the same process:

- ``item-list`` keyword search (``q`` = a word of the item names, ~1/20 of the items match) and
  a category page (a top-level category: its 10 sub-categories, ~2,500 items; pages 1-5);
- ``sku-get`` uncached (every request a SKU never asked for before) and cached (a warm set);
- ``item-import`` of a generated 10,000-row CSV (2,500 items x 4 SKUs) over HTTP in one request,
  the same file again (every row an update that changes nothing), and a 10,000-row price change
  through ``erp import items`` (``import_in_batches``, one transaction per 500 rows).

``ERP_BENCH_SECONDS`` (default 4) is roughly how long each latency run lasts.
"""
from __future__ import annotations

import csv
import io
import os
import random
import time

from tests.bench.common import Figures, Gateway, run_clients, use_database

ITEMS = 25_000
SKUS_PER_ITEM = 4
WORDS = ["衬衫", "长裤", "外套", "帽子", "袜子", "围巾", "手套", "毛衣", "裙子", "鞋", "shirt", "jacket", "cap",
         "sock", "scarf", "glove", "sweater", "skirt", "boot", "dress"]
COLORS = ["红", "蓝", "黑", "白"]
CLIENTS = (1, 8)


def _seed() -> tuple[str, list[int], list[int]]:
    """Categories, items and SKUs with core inserts; (a cashier's token, top-level ids, sku ids)."""
    from sqlalchemy import insert

    from erp_common import auth
    from erp_common.catalog.models import Category, Item, Sku
    from erp_common.db import get_engine, utcnow
    from erp_common.identity.models import User, UserRole

    now = utcnow()
    rng = random.Random(7)
    categories, tops, leaves = [], [], []
    next_id = 2  # category 1 (未分类) comes with the migrations
    for t in range(10):
        top = next_id
        next_id += 1
        tops.append(top)
        categories.append({"id": top, "name": f"top{t}", "parent_id": None, "path": f"/{top}/", "level": 1,
                           "sort_order": t, "created_at": now, "updated_at": now})
        for c in range(10):
            categories.append({"id": next_id, "name": f"leaf{c}", "parent_id": top, "path": f"/{top}/{next_id}/",
                               "level": 2, "sort_order": c, "created_at": now, "updated_at": now})
            leaves.append(next_id)
            next_id += 1
    started = time.perf_counter()
    engine = get_engine()
    with engine.begin() as conn:
        conn.execute(insert(Category), categories)
        user = conn.execute(insert(User).values(username="bench-cashier", password_hash="x", full_name="",
                                                is_active=True, token_version=1, created_at=now, updated_at=now))
        user_id = user.inserted_primary_key[0]
        conn.execute(insert(UserRole).values(user_id=user_id, role="cashier"))
    sku_id = 1
    for start in range(1, ITEMS + 1, 5000):
        items, skus = [], []
        for item_id in range(start, min(start + 5000, ITEMS + 1)):
            price = rng.randrange(100, 100_000) / 100
            items.append({"id": item_id, "name": f"{rng.choice(WORDS)} {rng.choice(WORDS)} 款{item_id}",
                          "category_id": rng.choice(leaves), "description": "", "unit": "pcs", "brand": "",
                          "barcode": None, "price": price, "status": "on_sale", "spec_names": '["color"]',
                          "created_by": "bench", "created_at": now, "updated_at": now})
            for n, color in enumerate(COLORS[:SKUS_PER_ITEM], start=1):
                skus.append({"id": sku_id, "item_id": item_id, "code": f"SKU-{item_id:06d}-{n:02d}",
                             "barcode": f"69{sku_id:011d}", "specs": f'{{"color": "{color}"}}', "spec_key": color,
                             "price": price, "price_overridden": False, "status": "on_sale", "created_at": now,
                             "updated_at": now})
                sku_id += 1
        with engine.begin() as conn:
            conn.execute(insert(Item), items)
            conn.execute(insert(Sku), skus)
    print(f"seeded {len(categories)} categories, {ITEMS:,} items, {sku_id - 1:,} SKUs in "
          f"{time.perf_counter() - started:.1f}s", flush=True)
    token = auth.issue_token(user_id, "bench-cashier", ["cashier"], 1).token
    return token, tops, list(range(1, sku_id))


def _requests(clients: int, rate_guess: float) -> int:
    seconds = float(os.environ.get("ERP_BENCH_SECONDS", "4"))
    return max(20, int(rate_guess * seconds / clients))


def _http_worker(url: str, token: str, paths: list[str]):
    import httpx

    def make(c: int):
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        rng = random.Random(c)

        def work(i: int) -> bool:
            return http.get(paths[rng.randrange(len(paths))]).status_code == 200

        return work

    return make


def _raw_worker(sql_and_params: list[tuple[str, tuple]]):
    import pymysql

    def make(c: int):
        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="",
                               database=os.environ["DATABASE_URL"].rsplit("/", 1)[1], autocommit=True)
        rng = random.Random(c)

        def work(i: int) -> bool:
            with conn.cursor() as cur:
                for sql, params in sql_and_params[rng.randrange(len(sql_and_params))]:
                    cur.execute(sql, params)
                    cur.fetchall()
            return True

        return work

    return make


KEYWORD_SQL = ("SELECT id, name, category_id, brand, unit, barcode, price, status, created_at, updated_at FROM items "
               "WHERE name LIKE %s OR barcode LIKE %s OR id IN (SELECT item_id FROM skus WHERE code LIKE %s OR "
               "barcode LIKE %s) ORDER BY id LIMIT 20")
KEYWORD_COUNT = ("SELECT count(*) FROM items WHERE name LIKE %s OR barcode LIKE %s OR id IN "
                 "(SELECT item_id FROM skus WHERE code LIKE %s OR barcode LIKE %s)")
CATEGORY_SQL = ("SELECT id, name, category_id, brand, unit, barcode, price, status, created_at, updated_at FROM items "
                "WHERE category_id IN (SELECT id FROM categories WHERE path LIKE %s) ORDER BY id LIMIT 20 OFFSET %s")
CATEGORY_COUNT = "SELECT count(*) FROM items WHERE category_id IN (SELECT id FROM categories WHERE path LIKE %s)"
SKU_SQL = ("SELECT s.*, i.name, i.status, i.unit, i.category_id FROM skus s JOIN items i ON i.id = s.item_id "
           "WHERE s.id = %s")


def _latency(url: str, token: str, tops: list[int], sku_ids: list[int]) -> list[Figures]:
    rows: list[Figures] = []
    keyword_paths = [f"/function/item-list?q={w}" for w in WORDS]
    keyword_sql = [[(KEYWORD_SQL, (f"%{w}%", f"{w}%", f"{w}%", f"{w}%")),
                    (KEYWORD_COUNT, (f"%{w}%", f"{w}%", f"{w}%", f"{w}%"))] for w in WORDS]
    category_paths = [f"/function/item-list?category_id={t}&page={p}" for t in tops for p in range(1, 6)]
    category_sql = [[(CATEGORY_SQL, (f"/{t}/%", (p - 1) * 20)), (CATEGORY_COUNT, (f"/{t}/%",))]
                    for t in tops for p in range(1, 6)]
    for clients in CLIENTS:
        rows.append(run_clients("item-list keyword search (HTTP)", clients, _requests(clients, 40),
                                _http_worker(url, token, keyword_paths)))
        rows.append(run_clients("baseline: keyword page + count (raw SQL)", clients, _requests(clients, 60),
                                _raw_worker(keyword_sql)))
        rows.append(run_clients("item-list category page (HTTP)", clients, _requests(clients, 150),
                                _http_worker(url, token, category_paths)))
        rows.append(run_clients("baseline: category page + count (raw SQL)", clients, _requests(clients, 400),
                                _raw_worker(category_sql)))
    rng = random.Random(3)
    fresh = rng.sample(sku_ids, 60_000)
    warm = fresh[:200]
    import httpx

    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        for sku in warm:
            assert http.get(f"/function/sku-get/{sku}").status_code == 200
    untouched = iter(fresh[200:])
    for clients in CLIENTS:
        n = _requests(clients, 500)
        per_client = [[next(untouched) for _ in range(n)] for _ in range(clients)]

        def uncached(c: int, per_client=per_client):
            import httpx as _httpx

            http = _httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
            ids = per_client[c]
            return lambda i: http.get(f"/function/sku-get/{ids[i]}").status_code == 200

        rows.append(run_clients("sku-get uncached (HTTP, first read of each SKU)", clients, n, uncached))
        rows.append(run_clients("sku-get cached (HTTP, warm SKUs)", clients, _requests(clients, 800),
                                _http_worker(url, token, [f"/function/sku-get/{s}" for s in warm])))
        rows.append(run_clients("baseline: SKU + item by id (raw SQL)", clients, _requests(clients, 3000),
                                _raw_worker([[(SKU_SQL, (s,))] for s in fresh[:5000]])))
    return rows


def _csv(tops: list[int], price: str | None = None, tag: str = "IMP") -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["item_name", "category_id", "item_price", "brand", "specs", "sku_code", "sku_price",
                     "sku_barcode"])
    for i in range(2500):
        for n, size in enumerate(("S", "M", "L", "XL")):
            own = price or ("" if n < 3 else "129.00")
            writer.writerow([f"导入商品 {tag} {i}", tops[i % len(tops)] + 1, "99.00", "牌子", f"size={size}",
                             f"{tag}-{i:05d}-{size}", own, f"{tag}{i * 4 + n:010d}"])
    return out.getvalue()


def _import(url: str, admin_token: str, tops: list[int]) -> list[str]:
    import httpx

    from erp_common.catalog.csv_io import import_in_batches
    from erp_common.context import Principal

    lines = []
    text = _csv(tops)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin_token}"}, timeout=300) as http:
        for label in ("10,000 new SKUs (2,500 items) over HTTP, one request",
                      "the same file again (10,000 updates that change nothing), HTTP"):
            started = time.perf_counter()
            response = http.post("/function/item-import", json={"csv": text})
            seconds = time.perf_counter() - started
            report = response.json()
            assert response.status_code == 200 and not report["rejected"], response.text[:500]
            lines.append(f"| {label} | {report['rows']:,} | {report['created_skus']:,} created, "
                         f"{report['updated_skus']:,} updated | {seconds:.1f} |")
    started = time.perf_counter()
    report = import_in_batches(_csv(tops, price="111.00"), Principal(0, "bench", frozenset({"admin"})))
    seconds = time.perf_counter() - started
    assert not report.rejected, report.rejected[:3]
    lines.append(f"| a new price for all 10,000 SKUs, `erp import items` (batches of 500) | {report.rows:,} | "
                 f"{report.updated_skus:,} updated (10,000 price history rows) | {seconds:.1f} |")
    return lines


def main() -> None:
    backend = os.environ.get("ERP_BENCH_BACKEND", "services")
    use_database("erp_bench_catalog", backend)
    from erp_common import auth
    from erp_common.db import transaction, utcnow
    from erp_common.identity.models import User, UserRole

    token, tops, sku_ids = _seed()
    with transaction() as session:
        admin = User(username="bench-admin", password_hash="x", full_name="", is_active=True, token_version=1,
                     created_at=utcnow(), updated_at=utcnow(), role_rows=[UserRole(role="admin")])
        session.add(admin)
        session.flush()
        admin_token = auth.issue_token(admin.id, admin.username, ["admin"], 1).token
    with Gateway() as gateway:
        rows = _latency(gateway.url, token, tops, sku_ids)
        print(Figures.header())
        for row in rows:
            print(row.row(), flush=True)
        print("\n| CSV import | rows | SKUs | seconds |\n|---|---|---|---|")
        for line in _import(gateway.url, admin_token, tops):
            print(line, flush=True)


if __name__ == "__main__":
    main()
