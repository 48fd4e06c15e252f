"""Pricing a cart from the database, and what an order's unit of work does with the result.

``quote`` reads what the engine needs and calls it: the promotions whose window holds now (this
process's copy of the enabled ones, see ``active_promotions``; with none, no coupon and no points,
nothing else is read), where the SKUs sit in
the catalog (only when a scope needs it), the member (only for tier prices, per-member limits,
a coupon or points) and the coupon. ``claim`` is the order's side: it locks each applied
promotion that has a usage limit (in id order) and takes one use, or reports the promotion whose
limit was reached meanwhile so the cart is priced again without it. ``record`` then writes the
uses, marks the coupon used (a conditional UPDATE: 409 if another checkout used it first) and
redeems the points, in the order's unit of work.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from ..cache import get_cache
from ..catalog.api import SkuInfo, sku_categories
from ..config import get_settings
from ..context import Context
from ..errors import Conflict, NotFound
from ..membership import api as membership
from ..prepared import Prepared
from . import pricing
from .events import CouponUsed
from .models import CLAIMED, Coupon, CouponTemplate, Promotion, PromotionUse
from .pricing import ALL, Buyer, CartLine, CouponRule, PointsPolicy, Priced, Rule, Scope
from .workflow import COUPON_WORKFLOW

_promotions = Promotion.__table__
# Built once, run on the connection as plain rows (no ORM identity map): with no promotion enabled
# this one indexed read is all pricing adds to an order without coupon or points.
_ACTIVE = Prepared(select(*(c for c in _promotions.c if c.name not in ("created_by", "created_at", "updated_at")))
                   .where(_promotions.c.enabled.is_(True),
                          or_(_promotions.c.ends_at.is_(None),
                              _promotions.c.ends_at > bindparam("now", type_=_promotions.c.ends_at.type))))


# The promotions' version: a value in the cache that every change of a promotion replaces after
# its commit (created, updated, a use taken or given back). Each process keeps the enabled
# promotions it last read with the version it read before them, and reads them again once the
# version moves (with Redis, every process learns it as Redis stores it: the key is tracked,
# erp_common.cache.TrackedCopy). The key lives VERSION_TTL seconds: a promotion changed by hand in
# the database is seen within that long.
VERSION_KEY = "promotions:version"
VERSION_TTL = 60


@dataclass(frozen=True)
class _Copy:
    version: str
    rows: list[Any]


_copy: _Copy | None = None


def promotions_changed() -> None:
    """Promotions changed (call it after the commit that changed them): every process reads them again."""
    get_cache().set(VERSION_KEY, uuid.uuid4().hex, VERSION_TTL)


def active_promotions(session: Session, now: datetime) -> list[Any]:
    """The enabled promotions whose window holds ``now``, from this process's copy while the
    promotions' version has not moved; read from the database otherwise (and always while the cache
    cannot say the version: Redis down)."""
    global _copy
    version = get_cache().get(VERSION_KEY)  # before the rows: a change committed meanwhile moves it again
    copy = _copy
    if version is None or copy is None or copy.version != version:
        copy = _Copy(version or "", _ACTIVE.rows(session, {"now": now}))  # enabled, not ended by now
        if version is None:
            promotions_changed()  # the next read keeps what it reads
        else:
            _copy = copy
    return [p for p in copy.rows
            if (p.starts_at is None or p.starts_at <= now) and (p.ends_at is None or p.ends_at > now)]


@dataclass
class Quote:
    priced: Priced
    rules: dict[int, Rule]
    limited: dict[int, Any]  # applied promotions (rows of _ACTIVE) with a limit, by id
    member_id: int | None
    coupon: Coupon | None
    coupon_template: CouponTemplate | None
    points: int


def scope_of(scope_type: str, scope_ids: str) -> Scope:
    return Scope(scope_type, frozenset(json.loads(scope_ids or "[]")))


def _rule(p: Any, available: bool) -> Rule:
    return Rule(id=p.id, name=p.name, kind=p.kind, priority=p.priority, exclusive=p.exclusive,
                scope=scope_of(p.scope_type, p.scope_ids), percent=p.percent, amount=p.amount, threshold=p.threshold,
                repeat=p.repeat, buy_qty=p.buy_qty, free_qty=p.free_qty, tiers=frozenset(json.loads(p.tiers or "[]")),
                starts_at=p.starts_at, ends_at=p.ends_at, available=available)


def _member_uses(session: Session, member_id: int, promotion_ids: list[int]) -> dict[int, int]:
    rows = session.execute(select(PromotionUse.promotion_id, func.count()).where(
        PromotionUse.member_id == member_id, PromotionUse.promotion_id.in_(promotion_ids))
        .group_by(PromotionUse.promotion_id))
    return {pid: count for pid, count in rows}


def _load_coupon(session: Session, code: str, member_id: int | None, now: datetime) -> tuple[Coupon, CouponTemplate]:
    found = session.execute(select(Coupon, CouponTemplate).join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
                            .where(Coupon.code == code.upper())).one_or_none()
    coupon, template = found if found is not None else (None, None)
    if coupon is None or member_id is None or coupon.member_id != member_id:
        raise NotFound(f"no coupon {code} for this member", code="unknown_coupon",
                       details=[{"field": "coupon", "message": "no such coupon for this member"}])
    if coupon.status != CLAIMED or coupon.expires_at <= now:
        status = "expired" if coupon.expires_at <= now and coupon.status != "used" else coupon.status
        raise Conflict(f"coupon {coupon.code} is {status}: only a claimed coupon that has not expired can be used",
                       code="coupon_unavailable", details=[{"field": "coupon", "status": status}])
    return coupon, template


def quote(session: Session, now: datetime, skus: list[SkuInfo], qtys: list[Decimal], *, member_id: int | None,
          coupon_code: str | None = None, points: int = 0, without: frozenset[int] = frozenset()) -> Quote:
    """Price the cart (``skus`` with their quantities) for this member, coupon and points."""
    promotions = [p for p in active_promotions(session, now) if p.id not in without]
    coupon = template = None
    buyer = Buyer()
    if coupon_code:
        coupon, template = _load_coupon(session, coupon_code, member_id, now)
    needs_member = points or coupon or any(p.kind == pricing.TIER_PRICE or p.per_member_limit for p in promotions)
    if member_id is not None and needs_member:
        try:
            info = membership.member_pricing(session, member_id)
            buyer = Buyer(info.tier, info.discount_rate, info.points_balance)
        except NotFound:
            if points or coupon:
                raise
            # a customer id that is no member buys as anyone does (orders have always taken any id)
    elif points:
        raise Conflict("points are redeemed by a member: name the customer_id", code="member_required",
                       details=[{"field": "customer_id", "message": "required to redeem points"}])
    places: dict[int, tuple[int, str]] = {}
    if any(p.scope_type != ALL for p in promotions) or (template and template.scope_type != ALL):
        places = {sku_id: (c.item_id, c.category_path)
                  for sku_id, c in sku_categories(session, [s.id for s in skus]).items()}
    lines = [CartLine(s.id, s.code, s.price, q, *places.get(s.id, (None, ""))) for s, q in zip(skus, qtys, strict=True)]
    used = _member_uses(session, member_id, [p.id for p in promotions if p.per_member_limit]) \
        if member_id is not None and any(p.per_member_limit for p in promotions) else {}

    def available(p: Any) -> bool:
        if p.usage_limit is not None and p.used_count >= p.usage_limit:
            return False
        if p.per_member_limit is not None:
            return member_id is not None and used.get(p.id, 0) < p.per_member_limit
        return True

    rules = {p.id: _rule(p, available(p)) for p in promotions}
    coupon_rule = None
    if coupon is not None:
        coupon_rule = CouponRule(coupon.id, coupon.code, template.name, template.kind, template.value,
                                 template.min_spend, scope_of(template.scope_type, template.scope_ids))
    settings = get_settings()
    priced = pricing.price(lines, list(rules.values()), now=now, buyer=buyer, coupon=coupon_rule, points=points,
                           policy=PointsPolicy(settings.points_redeem_rate, settings.points_redeem_cap))
    by_id = {p.id: p for p in promotions}
    limited = {pid: by_id[pid] for pid in priced.promotion_ids
               if by_id[pid].usage_limit is not None or by_id[pid].per_member_limit is not None}
    return Quote(priced, rules, limited, member_id, coupon, template, points)


def claim(session: Session, q: Quote) -> int | None:
    """Take one use of each applied limited promotion, rows locked in id order; the id of the first
    whose limit another order reached meanwhile (price again without it), else None."""
    for pid in sorted(q.limited):
        row = session.execute(select(_promotions.c.used_count, _promotions.c.usage_limit,
                                     _promotions.c.per_member_limit).where(_promotions.c.id == pid)
                              .with_for_update()).one()
        if row.usage_limit is not None and row.used_count >= row.usage_limit:
            return pid
        if row.per_member_limit is not None and (
                q.member_id is None or _member_uses(session, q.member_id, [pid]).get(pid, 0) >= row.per_member_limit):
            return pid
        session.execute(update(_promotions).where(_promotions.c.id == pid)
                        .values(used_count=_promotions.c.used_count + 1))
    return None


def unclaim(session: Session, q: Quote, spent: int) -> None:
    """Give back the uses ``claim`` took before it met ``spent`` (the cart is priced again)."""
    taken = [pid for pid in sorted(q.limited) if pid < spent]
    if taken:
        session.execute(update(_promotions).where(_promotions.c.id.in_(taken))
                        .values(used_count=_promotions.c.used_count - 1))


def record(ctx: Context, q: Quote, order_id: int) -> None:
    """Write the order's promotion uses, use its coupon and redeem its points (in its unit of work)."""
    amounts: dict[int, Decimal] = {a.ref: a.amount for a in q.priced.applied if a.source == "promotion"}
    if amounts:
        ctx.session.add_all(PromotionUse(promotion_id=pid, member_id=q.member_id, order_id=order_id, amount=amount,
                                         created_at=ctx.now) for pid, amount in amounts.items())
    if q.coupon is not None and q.priced.coupon_discount > 0:
        use = COUPON_WORKFLOW.transitions["use"]
        done = ctx.session.execute(update(Coupon).where(
            Coupon.id == q.coupon.id, Coupon.status.in_(use.sources), Coupon.expires_at > ctx.now)
            .values(status=use.targets[0], used_at=ctx.now, order_id=order_id)
            .execution_options(synchronize_session=False)).rowcount
        if done != 1:
            raise Conflict(f"coupon {q.coupon.code} was used by another checkout", code="coupon_unavailable",
                           details=[{"field": "coupon", "status": "used"}])
        ctx.emit(CouponUsed(coupon_id=q.coupon.id, member_id=q.coupon.member_id, order_id=order_id))
    if q.priced.points_used:
        membership.redeem_points(ctx, q.member_id, q.priced.points_used, f"order:{order_id}")


def release(ctx: Context, order_id: int, member_id: int | None) -> None:
    """A cancelled (or wholly returned) order gives back its coupon, if the template says so, and
    the points it redeemed; the promotions' uses stay counted (they were given)."""
    coupon = ctx.session.scalars(select(Coupon).where(Coupon.order_id == order_id).with_for_update()).one_or_none()
    if coupon is not None and coupon.status == "used":
        template = ctx.session.get(CouponTemplate, coupon.template_id)
        if template.give_back:
            COUPON_WORKFLOW.apply(coupon, "give_back", label=coupon.code)
            coupon.order_id, coupon.used_at = None, None
    if member_id is not None:
        membership.give_back_points(ctx, member_id, f"order:{order_id}")


__all__ = ["Quote", "active_promotions", "claim", "promotions_changed", "quote", "record", "release", "unclaim"]
