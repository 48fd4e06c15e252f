"""Supply-chain latency on MariaDB: production-plan of a 3-level BOM with 200 distinct components for 50
finished units, and po-receive of a 50-line PO; each through the local gateway (HTTP, auth, validation,
the services, the unit of work) beside a raw-SQL baseline doing the same work with PyMySQL, in one run.

* The plan: the finished SKU is made of 10 sub-assemblies; each of 3 sub-sub-assemblies (x2) and one
  bought part; each sub-sub-assembly of 5 bought parts (5% scrap): 10 + 30 + 10 + 150 = 200 distinct
  components on 3 levels, with stock on two bought parts in three and an open PO for some. The
  baseline reads the same BOM graph (one recursive CTE), the stock, the open POs and the preferred
  suppliers with four SQL statements and nets the same way in plain Python; its shortages must be
  the service's, or the benchmark stops.
* The receipt: a PO of 50 lines (50 SKUs that already have a cost) received in full. The baseline
  is the same transaction by hand: lock the PO and its 50 stock rows, update them, lock and update
  the 50 cost rows, insert 50 ledger rows and 50 cost-history rows, update the 50 PO lines, insert
  the receipt and 2 outbox events, commit.

One client, sequential calls: these are latencies of one heavy request, not throughput.
``ERP_BENCH_RUNS`` (default 15) calls of each, alternating the full path and the baseline.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from collections import defaultdict
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal

from tests.bench.common import Gateway, median, use_database

RUNS = int(os.environ.get("ERP_BENCH_RUNS", "15"))
UNITS = 50
LINES = 50
Q4 = Decimal("0.0001")


def _skus(count: int, prefix: str) -> list[int]:
    from erp_common.catalog.models import Category, Item, Sku
    from erp_common.db import transaction, utcnow

    now = utcnow()
    with transaction() as session:
        category = Category(name=f"bench {prefix}", path="/", level=1, sort_order=0, created_at=now, updated_at=now)
        session.add(category)
        session.flush()
        item = Item(name=f"bench {prefix}", category_id=category.id, price=Decimal("10.00"), status="on_sale",
                    description="", unit="pcs", brand="", spec_names="[]", created_by="bench",
                    created_at=now, updated_at=now)
        session.add(item)
        session.flush()
        skus = [Sku(item_id=item.id, code=f"{prefix}{i:04d}", specs="{}", spec_key=str(i), price=Decimal("10.00"),
                    status="on_sale", created_at=now, updated_at=now) for i in range(count)]
        session.add_all(skus)
        session.flush()
        return [s.id for s in skus]


def _token(role: str) -> str:
    from erp_common import auth
    from erp_common.db import transaction, utcnow
    from erp_common.identity.models import User, UserRole

    with transaction() as session:
        user = User(username=f"bench-{role}", password_hash="x", full_name="", is_active=True, token_version=1,
                    created_at=utcnow(), updated_at=utcnow(), role_rows=[UserRole(role=role)])
        session.add(user)
        session.flush()
        return auth.issue_token(user.id, user.username, [role], 1).token


def _receive(lines: list[tuple[int, Decimal, Decimal]], warehouse_id: int) -> None:
    """Put stock in with a cost, straight through the ledger: (sku, qty, unit cost)."""
    from erp_common import uow
    from erp_common.inventory.api import RECEIPT, StockDocument, StockLine, post_stock

    doc = StockDocument("bench", f"seed-{uuid.uuid4().hex[:8]}",
                        [StockLine(s, warehouse_id, RECEIPT, q, unit_cost=c) for s, q, c in lines])
    uow.run(lambda ctx: post_stock(ctx, doc), uow.system_caller("bench-seed"))


def _ok(response, status=200) -> dict:
    if response.status_code != status:
        raise SystemExit(f"{response.request.url}: {response.status_code} {response.text[:500]}")
    return response.json()


# --- production-plan ---------------------------------------------------------------------------

def _seed_plan(http, warehouse_id: int) -> tuple[int, list[int]]:
    ids = _skus(201, "PLAN")
    top, l1, l2, extra, parts = ids[0], ids[1:11], ids[11:41], ids[41:51], ids[51:201]
    boms = [(top, [(s, 1, 0) for s in l1])]
    boms += [(l1[i], [(s, 2, 0) for s in l2[3 * i:3 * i + 3]] + [(extra[i], 1, 0)]) for i in range(10)]
    boms += [(l2[j], [(p, 1 + k, 5) for k, p in enumerate(parts[5 * j:5 * j + 5])]) for j in range(30)]
    for sku, comps in boms:
        _ok(http.post("/function/bom-create", json={"sku": sku, "components": [
            {"sku": s, "qty_per_unit": q, "scrap_pct": scrap} for s, q, scrap in comps]}), 201)
    bought = extra + parts
    _receive([(s, Decimal(100 * (i % 3)), Decimal("1.00")) for i, s in enumerate(bought) if i % 3] +
             [(l1[0], Decimal(10), Decimal("5.00"))], warehouse_id)
    supplier = _ok(http.post("/function/supplier-create", json={"code": "BENCH-PLAN", "name": "Plan"}), 201)
    for s in bought[::2]:
        _ok(http.post("/function/sku-supplier-set", json={"sku": s, "supplier_id": supplier["id"],
                                                          "is_preferred": True, "lead_time_days": 5}))
    _ok(http.post("/function/po-create", json={"supplier_id": supplier["id"], "lines": [
        {"sku": s, "qty": 40, "unit_cost": "1.00"} for s in bought[::7]]}), 201)
    return top, bought


GRAPH_SQL = """
WITH RECURSIVE g(sku_id) AS (
  SELECT %s UNION
  SELECT c.sku_id FROM g JOIN boms b ON b.sku_id = g.sku_id AND b.is_current JOIN bom_components c ON c.bom_id = b.id)
SELECT b.sku_id, c.sku_id AS component, c.qty_per_unit, c.scrap_pct
FROM g JOIN boms b ON b.sku_id = g.sku_id AND b.is_current JOIN bom_components c ON c.bom_id = b.id
ORDER BY b.sku_id, c.line_no"""


def _raw_plan(conn, top: int, qty: Decimal, warehouse_id: int) -> dict[int, Decimal]:
    """The same explosion by hand: 4 statements, netting in Python; {sku: shortage} of what must be bought."""
    with conn.cursor() as cur:
        cur.execute(GRAPH_SQL, (top,))
        graph: dict[int, list[tuple[int, Decimal, Decimal]]] = defaultdict(list)
        for sku, comp, per_unit, scrap in cur.fetchall():
            graph[sku].append((comp, per_unit, scrap))
        every = sorted({top} | {c for parts in graph.values() for c, _, _ in parts})
        marks = ",".join(["%s"] * len(every))
        cur.execute(f"SELECT sku_id, on_hand - reserved FROM stock_levels WHERE warehouse_id = %s AND sku_id IN "
                    f"({marks})", (warehouse_id, *every))
        available = dict(cur.fetchall())
        cur.execute(f"SELECT l.sku_id, SUM(l.quantity - l.qty_received) FROM purchase_order_lines l "
                    f"JOIN purchase_orders p ON p.id = l.po_id WHERE p.warehouse_id = %s AND p.status IN "
                    f"('draft', 'approved', 'partially_received') AND l.sku_id IN ({marks}) GROUP BY l.sku_id",
                    (warehouse_id, *every))
        on_order = dict(cur.fetchall())
        cur.execute(f"SELECT ss.sku_id, ss.supplier_id, ss.lead_time_days FROM sku_suppliers ss JOIN suppliers s "
                    f"ON s.id = ss.supplier_id WHERE ss.is_preferred AND s.is_active AND ss.sku_id IN ({marks})",
                    tuple(every))
        cur.fetchall()
    conn.commit()
    level = {top: 0}
    stack = [top]
    while stack:
        sku = stack.pop()
        for child, _, _ in graph.get(sku, []):
            if level.get(child, -1) < level[sku] + 1:
                level[child] = level[sku] + 1
                stack.append(child)
    gross = {top: qty}
    short = {}
    for sku in sorted(level, key=lambda s: level[s]):
        if sku not in gross:
            continue
        net = max(gross[sku] - max(available.get(sku, Decimal(0)), Decimal(0)) - on_order.get(sku, Decimal(0)),
                  Decimal(0))
        if net > 0 and sku in graph:
            for child, per_unit, scrap in graph[sku]:
                gross[child] = gross.get(child, Decimal(0)) + (net * per_unit * (1 + scrap / 100)).quantize(
                    Q4, rounding=ROUND_UP)
        elif net > 0:
            short[sku] = net
    return short


# --- po-receive --------------------------------------------------------------------------------

def _seed_receipts(http, warehouse_id: int) -> tuple[list[int], list[int]]:
    """2 x RUNS approved POs of 50 lines over 50 SKUs that already have stock and a cost."""
    skus = _skus(LINES, "RCV")
    _receive([(s, Decimal(10), Decimal("2.00")) for s in skus], warehouse_id)
    supplier = _ok(http.post("/function/supplier-create", json={"code": "BENCH-RCV", "name": "Receive"}), 201)
    ids = []
    for n in range(2 * RUNS):
        po = _ok(http.post("/function/po-create", json={"supplier_id": supplier["id"], "lines": [
            {"sku": s, "qty": 5 + (i + n) % 7, "unit_cost": f"{1 + (i * 37 + n) % 300 / 100:.2f}"}
            for i, s in enumerate(skus)]}), 201)
        _ok(http.post(f"/function/po-approve/{po['id']}"))
        ids.append(po["id"])
    return ids[:RUNS], ids[RUNS:]


def _raw_receive(conn, po_id: int) -> None:
    """po-receive of every line still due, as one hand-written transaction."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with conn.cursor() as cur:
        cur.execute("SELECT id, warehouse_id, created_at, status FROM purchase_orders WHERE id = %s FOR UPDATE",
                    (po_id,))
        _, warehouse_id, created_at, _ = cur.fetchone()
        number = f"PO{created_at:%Y%m%d}{po_id:06d}"
        cur.execute("SELECT id, line_no, sku_id, sku_code, quantity, qty_received, unit_cost FROM purchase_order_lines "
                    "WHERE po_id = %s ORDER BY line_no", (po_id,))
        lines = [r for r in cur.fetchall() if r[4] > r[5]]
        lines.sort(key=lambda r: r[2])
        ids = [r[2] for r in lines]
        marks = ",".join(["%s"] * len(ids))
        cur.execute(f"SELECT id, sku_id, on_hand, reserved FROM stock_levels WHERE warehouse_id = %s AND sku_id IN "
                    f"({marks}) ORDER BY sku_id FOR UPDATE", (warehouse_id, *ids))
        levels = {r[1]: [r[0], r[2], r[3]] for r in cur.fetchall()}
        cur.execute(f"SELECT sku_id, unit_cost, on_hand FROM sku_costs WHERE sku_id IN ({marks}) ORDER BY sku_id "
                    f"FOR UPDATE", tuple(ids))
        costs = {r[0]: [r[1], r[2]] for r in cur.fetchall()}
        ledger, history = [], []
        for _, line_no, sku, _code, qty, received, cost in lines:
            q = qty - received
            level = levels[sku]
            level[1] += q
            average, on_hand = costs[sku]
            after = ((on_hand * average + q * cost) / (on_hand + q)).quantize(Q4, rounding=ROUND_HALF_UP)
            history.append((sku, average, on_hand, q, cost, after, "purchase_order", number, now))
            costs[sku] = [after, on_hand + q]
            ledger.append((level[0], sku, warehouse_id, "receipt", q, 0, level[1], level[2], "purchase_order", number,
                           "purchase_order_line", f"{po_id}/{line_no}", cost, "", "bench", now))
        cur.execute(f"UPDATE stock_levels SET on_hand = CASE {' '.join(['WHEN id = %s THEN %s'] * len(ids))} END, "
                    f"updated_at = %s WHERE id IN ({marks})",
                    (*[x for s in ids for x in (levels[s][0], levels[s][1])], now, *[levels[s][0] for s in ids]))
        cur.executemany("UPDATE sku_costs SET unit_cost = %s, on_hand = %s, updated_at = %s WHERE sku_id = %s",
                        [(costs[s][0], costs[s][1], now, s) for s in ids])
        cur.executemany("INSERT INTO stock_ledger (stock_level_id, sku_id, warehouse_id, type, qty_on_hand, "
                        "qty_reserved, on_hand_after, reserved_after, doc_type, doc_id, origin_type, origin_id, "
                        "unit_cost, reason, actor, created_at) VALUES "
                        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", ledger)
        cur.executemany("INSERT INTO sku_cost_history (sku_id, unit_cost_before, on_hand_before, qty_in, cost_in, "
                        "unit_cost, doc_type, doc_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        history)
        cur.executemany("UPDATE purchase_order_lines SET qty_received = quantity WHERE id = %s",
                        [(r[0],) for r in lines])
        refs = [{"line_no": r[1], "sku_id": r[2], "sku_code": r[3], "qty": str(r[4] - r[5]), "unit_cost": str(r[6])}
                for r in lines]
        cur.execute("INSERT INTO purchase_receipts (po_id, `lines`, note, created_by, created_at) VALUES "
                    "(%s, %s, '', 'bench', %s)", (po_id, json.dumps(refs), now))
        cur.execute("UPDATE purchase_orders SET status = 'received', updated_at = %s WHERE id = %s", (now, po_id))
        cur.executemany("INSERT INTO outbox_events (id, type, version, data, occurred_at, attempts) VALUES "
                        "(%s, %s, %s, %s, %s, 0)",
                        [(str(uuid.uuid4()), "stock.changed", 2, json.dumps({"lines": ledger}, default=str), now),
                         (str(uuid.uuid4()), "po.received", 1, json.dumps({"lines": refs}), now)])
    conn.commit()


def _time(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    import httpx
    import pymysql
    from sqlalchemy import select

    from erp_common.db import transaction
    from erp_common.inventory.models import Warehouse

    url = use_database("erp_bench_supply", "services")
    with transaction() as session:
        warehouse_id = session.scalar(select(Warehouse.id).where(Warehouse.is_default.is_(True)))
    token = _token("manager")
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database=url.rsplit("/", 1)[1])
    with Gateway() as gateway, httpx.Client(base_url=gateway.url, timeout=120,
                                            headers={"Authorization": f"Bearer {token}"}) as http:
        top, _ = _seed_plan(http, warehouse_id)
        body = {"demand": [{"sku": top, "qty": UNITS, "date": date(2027, 1, 15).isoformat()}]}
        plan = _ok(http.post("/function/production-plan", json=body))
        service_short = {ln["sku_id"]: Decimal(ln["shortage"]) for ln in plan["shortages"]}
        raw_short = _raw_plan(conn, top, Decimal(UNITS), warehouse_id)
        if service_short != raw_short:
            raise SystemExit(f"the service and the baseline disagree: {service_short} != {raw_short}")
        full, raw = [], []
        for _ in range(RUNS):
            full.append(_time(lambda: _ok(http.post("/function/production-plan", json=body))))
            raw.append(_time(lambda: _raw_plan(conn, top, Decimal(UNITS), warehouse_id)))
        print(f"production-plan: {len(plan['lines'])} SKUs planned on {max(ln['level'] for ln in plan['lines'])} "
              f"levels below the goods, {len(service_short)} shortages (the baseline's too)\n")
        print("| what | runs | p50 ms | min ms | max ms |\n|---|---|---|---|---|")
        print(f"| production-plan via gateway | {RUNS} | {median(full):.1f} | {min(full):.1f} | {max(full):.1f} |")
        print(f"| raw SQL + Python explosion | {RUNS} | {median(raw):.1f} | {min(raw):.1f} | {max(raw):.1f} |")
        print(f"| ratio full / raw (p50) | | {median(full) / median(raw):.1f}x | | |", flush=True)

        via_gateway, by_hand = _seed_receipts(http, warehouse_id)
        full, raw = [], []
        for a, b in zip(via_gateway, by_hand, strict=True):
            full.append(_time(lambda a=a: _ok(http.post(f"/function/po-receive/{a}"))))
            raw.append(_time(lambda b=b: _raw_receive(conn, b)))
        print(f"\npo-receive of a {LINES}-line PO\n")
        print("| what | runs | p50 ms | min ms | max ms |\n|---|---|---|---|---|")
        print(f"| po-receive via gateway | {RUNS} | {median(full):.1f} | {min(full):.1f} | {max(full):.1f} |")
        print(f"| raw SQL transaction | {RUNS} | {median(raw):.1f} | {min(raw):.1f} | {max(raw):.1f} |")
        print(f"| ratio full / raw (p50) | | {median(full) / median(raw):.1f}x | | |", flush=True)
    conn.close()


if __name__ == "__main__":
    main()
