"""Backup and restore of a shop-sized database: 100,000 SKUs with stock, 50,000 orders of 2 lines each.

The rows are written in bulk, as the services would leave them: 1,000 items of 100 SKUs, a stock row
and a receipt in the ledger per SKU, 50,000 orders reserving 2 SKUs each (100,000 lines, 100,000
reservations in the ledger, the stock rows' reserved to match) and 50,000 published ``order.created``
events: ~600,000 rows. Then ``backup`` (what ``erp backup`` runs) and ``restore`` into a fresh
database (what ``erp restore`` runs, including its check of every table's rows against the
manifest), and ``erp check stock`` on the restored copy. ``ERP_BENCH_BACKEND=embedded`` measures
SQLite; the default is MariaDB. Sizes: ``ERP_BENCH_SKUS``, ``ERP_BENCH_ORDERS``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

from tests.bench.common import ROOT, use_database

SKUS = int(os.environ.get("ERP_BENCH_SKUS", "100000"))
ORDERS = int(os.environ.get("ERP_BENCH_ORDERS", "50000"))
BATCH = 5000


def _insert(conn, table, rows) -> None:
    from sqlalchemy import insert

    for i in range(0, len(rows), BATCH):
        conn.execute(insert(table), rows[i:i + BATCH])


def populate() -> dict[str, int]:
    from sqlalchemy import select

    from erp_common import domains
    from erp_common.db import Base, get_engine, utcnow

    domains.load()
    t = Base.metadata.tables
    now = utcnow()
    engine = get_engine()
    with engine.begin() as conn:
        warehouse = conn.execute(select(t["warehouses"].c.id).where(t["warehouses"].c.code == "MAIN")).scalar_one()
        category = conn.execute(t["categories"].insert().values(
            name="bench", path="/", level=1, sort_order=0, created_at=now, updated_at=now)).inserted_primary_key[0]
    items = SKUS // 100
    with engine.begin() as conn:
        _insert(conn, t["items"], [dict(id=i, name=f"Bench item {i}", category_id=category,
                                        description="A benchmark item with a description of some length.",
                                        unit="pcs", brand="Bench", price=Decimal("19.90"), status="on_sale",
                                        spec_names='["colour","size"]', created_by="bench", created_at=now,
                                        updated_at=now) for i in range(1, items + 1)])
        _insert(conn, t["skus"], [dict(id=s, item_id=(s - 1) // 100 + 1, code=f"B{s:07d}",
                                       specs=json.dumps({"colour": f"c{s % 7}", "size": f"s{s % 5}"}),
                                       spec_key=f"c{s % 7}|s{s % 5}|{s}", price=Decimal("19.90"),
                                       price_overridden=False, status="on_sale", created_at=now, updated_at=now)
                                  for s in range(1, SKUS + 1)])
    reserved = [0] * (SKUS + 1)
    lines, ledger = [], []
    for o in range(1, ORDERS + 1):
        for n in (1, 2):
            sku = (o * 2 + n * 7919) % SKUS + 1
            reserved[sku] += 1
            lines.append(dict(order_id=o, line_no=n, sku_id=sku, sku_code=f"B{sku:07d}", unit_price=Decimal("19.90"),
                              quantity=Decimal(1), list_amount=Decimal("19.90"), discount_amount=Decimal(0),
                              amount=Decimal("19.90"), promotions=None, qty_shipped=Decimal(0),
                              qty_returned=Decimal(0), qty_released=Decimal(0)))
            ledger.append(dict(stock_level_id=sku, sku_id=sku, warehouse_id=warehouse, type="reserve",
                               qty_on_hand=Decimal(0), qty_reserved=Decimal(1), on_hand_after=Decimal(100),
                               reserved_after=Decimal(reserved[sku]), doc_type="sales_order", doc_id=str(o),
                               origin_type=None, origin_id=None, unit_cost=None, reason="", actor="bench",
                               created_at=now))
    with engine.begin() as conn:
        _insert(conn, t["stock_levels"], [dict(id=s, sku_id=s, warehouse_id=warehouse, on_hand=Decimal(100),
                                               reserved=Decimal(reserved[s]), low_stock_threshold=None,
                                               updated_at=now) for s in range(1, SKUS + 1)])
        _insert(conn, t["stock_ledger"], [dict(stock_level_id=s, sku_id=s, warehouse_id=warehouse, type="receipt",
                                               qty_on_hand=Decimal(100), qty_reserved=Decimal(0),
                                               on_hand_after=Decimal(100), reserved_after=Decimal(0),
                                               doc_type="purchase_receipt", doc_id=f"R{s}", origin_type=None,
                                               origin_id=None, unit_cost=Decimal("8.5000"), reason="",
                                               actor="bench", created_at=now) for s in range(1, SKUS + 1)])
        _insert(conn, t["sales_orders"], [dict(id=o, customer_id=None, warehouse_id=warehouse,
                                               status="pending_payment", total_amount=Decimal("39.80"),
                                               discount_amount=Decimal(0), coupon_code=None, points_redeemed=0,
                                               paid_amount=Decimal(0), refunded_amount=Decimal(0), note="",
                                               created_by="bench", created_at=now, updated_at=now, paid_at=None,
                                               cancelled_at=None, cancel_reason=None)
                                          for o in range(1, ORDERS + 1)])
        _insert(conn, t["sales_order_lines"], lines)
        _insert(conn, t["stock_ledger"], ledger)
        _insert(conn, t["outbox_events"], [dict(id=str(uuid.uuid4()), type="order.created", version=1,
                                                data=json.dumps({"order_id": o, "total": "39.80", "lines": 2}),
                                                occurred_at=now, published_at=now, attempts=1)
                                           for o in range(1, ORDERS + 1)])
    return {"skus": SKUS, "orders": ORDERS, "order lines": len(lines), "ledger rows": SKUS + len(ledger)}


def _fresh(url: str) -> str:
    if url.startswith("sqlite"):
        return f"sqlite:///{tempfile.mkdtemp(prefix='erp-bench-restore-')}/restored.sqlite3"
    import pymysql

    name = "erp_bench_restored"
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    conn.close()
    return url.rsplit("/", 1)[0] + f"/{name}"


def main() -> None:
    from erp_local import backup

    url = use_database("erp_bench_backup")
    started = time.monotonic()
    made = populate()
    print(f"populated in {time.monotonic() - started:.1f} s: " + ", ".join(f"{n:,} {k}" for k, n in made.items()))
    folder = Path(tempfile.mkdtemp(prefix="erp-bench-snapshots-"))
    started = time.monotonic()
    snap = backup.backup(url, folder)
    took_backup = time.monotonic() - started
    m = snap.manifest
    print(f"backup: {took_backup:.1f} s, {m['rows']:,} rows in {len(m['tables'])} tables, "
          f"{m['bytes'] / 1e6:.1f} MB compressed ({m['tool']})")
    target = _fresh(url)
    started = time.monotonic()
    report = backup.restore(target, snap.manifest_path)
    took_restore = time.monotonic() - started
    print(f"restore: {took_restore:.1f} s in all ({report['seconds']:.1f} s loading, the rest checking the "
          "rows of every table against the manifest)")
    check = subprocess.run([sys.executable, "-m", "erp_local.cli", "check", "stock"], capture_output=True,
                           text=True, env={**os.environ, "DATABASE_URL": target}, cwd=ROOT)
    print(f"erp check stock on the restored copy: exit {check.returncode}: {check.stdout.strip().splitlines()[-1]}")
    print("\n| backend | rows | snapshot | backup s | restore s |\n|---|---|---|---|---|")
    print(f"| {m['backend']} | {m['rows']:,} | {m['bytes'] / 1e6:.1f} MB | {took_backup:.1f} | {took_restore:.1f} |")
