"""Pricing on the order path: ``price-quote`` and ``order-create`` with 3 active promotions, a coupon
and points, beside the same cart with no promotion, coupon or points, through the local gateway.

The cart has 2 lines (2 SKUs of one category). The promoted runs have 3 promotions enabled (10% off
the category, spend 50 get 5 off, buy 2 get 1 free on one SKU); each promoted order also uses a
coupon of its own (claimed beforehand) and redeems 100 points; the plain runs disable the
promotions (one UPDATE between rounds) and send the cart alone. One client, one keep-alive
connection, so the figures are the latency of one request; rows alternate plain and promoted over
``ERP_BENCH_ROUNDS`` (3) rounds, so a drift of the machine weighs on both alike. Also timed: the
engine alone (``pricing.price``, in-process) on the promoted cart.

``ERP_BENCH_SECONDS`` (default 4) is roughly how long each row runs in all; MariaDB + Redis + NATS
unless ``ERP_BENCH_BACKEND=embedded``.
"""
from __future__ import annotations

import http.client
import json
import os
import time
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from tests.bench.common import Figures, Gateway, run_clients, use_database

COUPONS = 4000


def _seed() -> dict:
    from sqlalchemy import insert, select

    from erp_common import auth, uow
    from erp_common.catalog.models import Category, Item, Sku
    from erp_common.db import transaction, utcnow
    from erp_common.identity.models import User, UserRole
    from erp_common.inventory.api import RECEIPT, StockDocument, StockLine, post_stock
    from erp_common.inventory.models import Warehouse
    from erp_common.membership.models import Member, PointsEntry
    from erp_common.promotion.models import Coupon, CouponTemplate, Promotion

    now = utcnow()
    with transaction() as session:
        warehouse_id = session.scalar(select(Warehouse.id).where(Warehouse.is_default.is_(True)))
        category = Category(name="bench", path="/", level=1, sort_order=0, created_at=now, updated_at=now)
        session.add(category)
        session.flush()
        category.path = f"/{category.id}/"
        item = Item(name="bench item", category_id=category.id, price=Decimal("20.00"), status="on_sale",
                    description="", unit="pcs", brand="", spec_names="[]", created_by="bench", created_at=now,
                    updated_at=now)
        session.add(item)
        session.flush()
        skus = [Sku(item_id=item.id, code=f"PB{i}", specs="{}", spec_key=str(i), price=Decimal("20.00") + i,
                    status="on_sale", created_at=now, updated_at=now) for i in range(2)]
        session.add_all(skus)
        user = User(username="bench-pricing", password_hash="x", full_name="", is_active=True, token_version=1,
                    created_at=now, updated_at=now, role_rows=[UserRole(role="cashier"), UserRole(role="marketing")])
        session.add(user)
        member = Member(name="bench", phone="13800000000", phone_digest="bench", tier="normal",
                        lifetime_spend=Decimal(0), points_balance=10_000_000, is_active=True, created_by="bench",
                        created_at=now, updated_at=now)
        session.add(member)
        session.flush()
        session.add(PointsEntry(member_id=member.id, kind="adjust", points=10_000_000, remaining=10_000_000,
                                balance_after=10_000_000, origin="bench", note="", expires_at=now + timedelta(days=9),
                                created_by="bench", created_at=now))
        common = {"priority": 0, "exclusive": False, "enabled": True, "percent": 0, "amount": 0, "threshold": 0,
                  "repeat": False, "buy_qty": 0, "free_qty": 0, "tiers": "[]", "usage_limit": None,
                  "per_member_limit": None, "used_count": 0, "created_by": "bench", "created_at": now,
                  "updated_at": now, "starts_at": None, "ends_at": None}
        promos = [
            Promotion(**{**common, "name": "10% off", "kind": "percent_off", "percent": 10,
                         "scope_type": "categories", "scope_ids": json.dumps([category.id])}),
            Promotion(**{**common, "name": "50 - 5", "kind": "spend_off", "threshold": 50, "amount": 5,
                         "scope_type": "all", "scope_ids": "[]"}),
            Promotion(**{**common, "name": "2 + 1", "kind": "buy_x_get_y", "buy_qty": 2, "free_qty": 1,
                         "scope_type": "skus", "scope_ids": json.dumps([skus[0].id])}),
        ]
        session.add_all(promos)
        template = CouponTemplate(name="3 off", kind="amount", value=3, min_spend=0, scope_type="all", scope_ids="[]",
                                  valid_days=30, per_member_limit=None, give_back=True, created_by="bench",
                                  created_at=now)
        session.add(template)
        session.flush()
        session.execute(insert(Coupon), [
            {"code": f"B{i:07d}", "template_id": template.id, "member_id": member.id, "status": "claimed",
             "issued_at": now, "expires_at": now + timedelta(days=30), "claimed_at": now, "used_at": None,
             "order_id": None, "issued_by": "bench"} for i in range(COUPONS)])
        token = auth.issue_token(user.id, user.username, ["cashier", "marketing"], 1).token
        sku_ids, member_id, promo_ids = [s.id for s in skus], member.id, [p.id for p in promos]
    seed = StockDocument("bench", "seed", [StockLine(s, warehouse_id, RECEIPT, Decimal(10_000_000)) for s in sku_ids])
    uow.run(lambda ctx: post_stock(ctx, seed), uow.system_caller("bench-seed"))
    return {"skus": sku_ids, "member": member_id, "promos": promo_ids, "token": token}


def _enable(promo_ids: list[int], enabled: bool) -> None:
    from sqlalchemy import update

    from erp_common.db import transaction
    from erp_common.promotion.checkout import promotions_changed
    from erp_common.promotion.models import Promotion

    with transaction() as session:
        session.execute(update(Promotion).where(Promotion.id.in_(promo_ids)).values(enabled=enabled))
    promotions_changed()  # changed behind the services' back: the gateway's copy must read them again


def _engine_alone(seed: dict) -> float:
    """Microseconds per call of the pure engine on the promoted cart (3 promotions, coupon, points)."""
    from erp_common.db import utcnow
    from erp_common.promotion.pricing import (
        BUY_X_GET_Y,
        CATEGORIES,
        PERCENT_OFF,
        SKUS,
        SPEND_OFF,
        Buyer,
        CartLine,
        CouponRule,
        Rule,
        Scope,
        price,
    )

    a, b = seed["skus"]
    lines = [CartLine(a, "PB0", Decimal("20.00"), Decimal(3), 1, "/9/"),
             CartLine(b, "PB1", Decimal("21.00"), Decimal(1), 1, "/9/")]
    rules = [Rule(1, "10%", PERCENT_OFF, percent=Decimal(10), scope=Scope(CATEGORIES, frozenset({9}))),
             Rule(2, "50-5", SPEND_OFF, threshold=Decimal(50), amount=Decimal(5)),
             Rule(3, "2+1", BUY_X_GET_Y, buy_qty=2, free_qty=1, scope=Scope(SKUS, frozenset({a})))]
    coupon = CouponRule(1, "B", "3 off", "amount", Decimal(3))
    now, buyer = utcnow(), Buyer("normal", Decimal(0), 10_000)
    n = 5000
    started = time.perf_counter()
    for _ in range(n):
        price(lines, rules, now=now, buyer=buyer, coupon=coupon, points=100)
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    use_database("erp_bench_pricing")
    seed = _seed()
    seconds = float(os.environ.get("ERP_BENCH_SECONDS", "4"))
    rounds = int(os.environ.get("ERP_BENCH_ROUNDS", "3"))
    a, b = seed["skus"]
    cart = {"lines": [{"sku": a, "qty": 3}, {"sku": b, "qty": 1}]}
    coupons = iter(f"B{i:07d}" for i in range(COUPONS))
    gateway = Gateway(threads=8)
    target = urlsplit(gateway.url)
    headers = {"Authorization": f"Bearer {seed['token']}", "Content-Type": "application/json"}

    def worker(path: str, promoted: bool):
        def make(_client: int):
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)

            def work(_i: int) -> bool:
                body = dict(cart)
                if promoted:
                    body.update(customer_id=seed["member"], points=100)
                    body["coupon"] = next(coupons) if path == "/function/order-create" else "B0000000"
                conn.request("POST", path, json.dumps(body), headers)
                response = conn.getresponse()
                response.read()
                return response.status in (200, 201)
            return work
        return make

    rows: dict[str, list[Figures]] = {}
    # Rough rates on a 2-vCPU machine, so each row lasts about ERP_BENCH_SECONDS in all.
    per_round = {"price-quote": max(20, int(seconds * 250 / rounds)),
                 "order-create": max(20, int(seconds * 90 / rounds))}
    try:
        for name in ("price-quote", "order-create"):
            path = f"/function/{name}"
            run_clients("warm-up", 1, 20, worker(path, False))
            for _ in range(rounds):
                for promoted in (False, True):
                    _enable(seed["promos"], promoted)
                    label = f"{name}, " + ("3 promotions + coupon + points" if promoted else "no promotion")
                    rows.setdefault(label, []).append(run_clients(label, 1, per_round[name], worker(path, promoted)))
    finally:
        gateway.close()
    print(Figures.header())
    for runs in rows.values():
        print(Figures.merge(runs).row())
    print(f"\nthe engine alone (pricing.price, 2 lines, 3 promotions, coupon, points): {_engine_alone(seed):.0f} µs")


if __name__ == "__main__":
    main()
