"""Promotion services: promotions, coupon templates, coupons, and price quotes.

A promotion is checked as a whole whenever it is created or changed (``_check``): each kind
needs its own figures (a percentage for percent_off, an amount for amount_off, a threshold and an
amount for spend_off, both quantities for buy_x_get_y), a scope other than ``all`` needs ids, and
a window must end after it starts. ``price-quote`` prices a cart exactly as ``order-create``
does (the same ``checkout.quote``), without taking any use, coupon or point.
"""
from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .. import uow
from ..catalog.api import find_skus
from ..context import Caller, Context
from ..errors import Conflict, ErpError, NotFound, ValidationFailed
from ..jobs.api import JobRunOut, run_job
from ..membership import api as membership
from ..paging import paginate
from ..schemas import Page
from . import checkout, pricing
from .events import CouponsIssued, PromotionChanged
from .models import CLAIMED, EXPIRED, ISSUED, USED, Coupon, CouponTemplate, Promotion
from .schemas import (
    AdjustmentOut,
    CouponClaimIn,
    CouponIssueIn,
    CouponIssueOut,
    CouponListIn,
    CouponOut,
    CouponTemplateIn,
    CouponTemplateOut,
    PriceQuoteIn,
    PromotionCreateIn,
    PromotionListIn,
    PromotionOut,
    PromotionRefIn,
    PromotionUpdateIn,
    QuoteLineOut,
    QuoteOut,
    ScopeIn,
    ScopeOut,
)
from .workflow import COUPON_WORKFLOW

# --- promotions ----------------------------------------------------------------------------


def _out(p: Promotion) -> PromotionOut:
    return PromotionOut(
        id=p.id, name=p.name, kind=p.kind, priority=p.priority, exclusive=p.exclusive, enabled=p.enabled,
        starts_at=p.starts_at, ends_at=p.ends_at, scope=ScopeOut(type=p.scope_type, ids=json.loads(p.scope_ids)),
        percent=p.percent, amount=p.amount, threshold=p.threshold, repeat=p.repeat, buy_qty=p.buy_qty,
        free_qty=p.free_qty, tiers=json.loads(p.tiers), usage_limit=p.usage_limit,
        per_member_limit=p.per_member_limit, used_count=p.used_count, created_by=p.created_by,
        created_at=p.created_at, updated_at=p.updated_at)


def _check_scope(scope: ScopeIn | None, field: str = "scope") -> None:
    if scope is not None and scope.type != pricing.ALL and not scope.ids:
        raise ValidationFailed.field(f"{field}.ids", f"a {scope.type} scope lists the ids it covers")


def _check(p: Promotion) -> None:
    """422 naming the field a promotion of its kind is missing (or a window ending before it starts)."""
    needs = {
        pricing.PERCENT_OFF: [("percent", p.percent > 0)],
        pricing.AMOUNT_OFF: [("amount", p.amount > 0)],
        pricing.SPEND_OFF: [("threshold", p.threshold > 0), ("amount", p.amount > 0)],
        pricing.BUY_X_GET_Y: [("buy_qty", p.buy_qty > 0), ("free_qty", p.free_qty > 0)],
        pricing.TIER_PRICE: [],
    }[p.kind]
    for field, ok in needs:
        if not ok:
            raise ValidationFailed.field(field, f"a {p.kind} promotion needs a {field} above 0")
    if p.kind == pricing.PERCENT_OFF and p.percent > 100:
        raise ValidationFailed.field("percent", "at most 100")
    if p.starts_at and p.ends_at and p.ends_at <= p.starts_at:
        raise ValidationFailed.field("ends_at", "must be after starts_at")


def _scope_columns(scope: ScopeIn) -> dict[str, Any]:
    return {"scope_type": scope.type, "scope_ids": json.dumps(sorted(set(scope.ids)) if scope.type != "all" else [])}


def create_promotion(ctx: Context, data: PromotionCreateIn) -> PromotionOut:
    """Create a promotion (percent off, amount off, spend X get Y off, buy X get Y free, tier price)."""
    _check_scope(data.scope)
    values = data.model_dump(exclude={"scope", "tiers"})
    p = Promotion(**values, **_scope_columns(data.scope), tiers=json.dumps(sorted(set(data.tiers))), used_count=0,
                  created_by=ctx.actor, created_at=ctx.now, updated_at=ctx.now)
    _check(p)
    ctx.session.add(p)
    ctx.session.flush()
    ctx.after_commit.append(checkout.promotions_changed)
    ctx.emit(PromotionChanged(promotion_id=p.id, name=p.name, kind=p.kind, enabled=p.enabled, by=ctx.actor))
    return _out(p)


def _load(session: Session, promotion_id: int, *, lock: bool = False) -> Promotion:
    query = select(Promotion).where(Promotion.id == promotion_id)
    p = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if p is None:
        raise NotFound(f"promotion {promotion_id} does not exist", code="unknown_promotion",
                       details=[{"field": "promotion", "message": "no such promotion"}])
    return p


def get_promotion(ctx: Context, data: PromotionRefIn) -> PromotionOut:
    """One promotion, with how many orders have used it."""
    return _out(_load(ctx.session, data.promotion))


def list_promotions(ctx: Context, data: PromotionListIn) -> Page[PromotionOut]:
    """Promotions, highest priority first; by enabled, kind, and the time their window holds."""
    query = select(Promotion)
    if data.enabled is not None:
        query = query.where(Promotion.enabled.is_(data.enabled))
    if data.kind:
        query = query.where(Promotion.kind == data.kind)
    if data.active_at:
        at = data.active_at
        query = query.where((Promotion.starts_at.is_(None)) | (Promotion.starts_at <= at),
                            (Promotion.ends_at.is_(None)) | (Promotion.ends_at > at))
    return paginate(ctx.session, query, data, _out, Promotion.priority.desc(), Promotion.id)


def update_promotion(ctx: Context, data: PromotionUpdateIn) -> PromotionOut:
    """Change a promotion (enable or disable it, its window, figures, scope or limits); its kind stays."""
    p = _load(ctx.session, data.promotion, lock=True)
    changes = data.model_dump(exclude_unset=True, exclude={"promotion", "scope", "tiers"})
    for field, value in changes.items():
        setattr(p, field, value)
    if data.scope is not None:
        _check_scope(data.scope)
        for field, value in _scope_columns(data.scope).items():
            setattr(p, field, value)
    if data.tiers is not None:
        p.tiers = json.dumps(sorted(set(data.tiers)))
    _check(p)
    p.updated_at = ctx.now
    ctx.session.flush()
    ctx.after_commit.append(checkout.promotions_changed)
    ctx.emit(PromotionChanged(promotion_id=p.id, name=p.name, kind=p.kind, enabled=p.enabled, by=ctx.actor))
    return _out(p)


# --- coupons -------------------------------------------------------------------------------

def _template_out(t: CouponTemplate) -> CouponTemplateOut:
    return CouponTemplateOut(id=t.id, name=t.name, kind=t.kind, value=t.value, min_spend=t.min_spend,
                             scope=ScopeOut(type=t.scope_type, ids=json.loads(t.scope_ids)), valid_days=t.valid_days,
                             per_member_limit=t.per_member_limit, give_back=t.give_back, created_by=t.created_by,
                             created_at=t.created_at)


def create_coupon_template(ctx: Context, data: CouponTemplateIn) -> CouponTemplateOut:
    """Create a coupon template: amount or percent off, a minimum spend, a scope, days of validity."""
    _check_scope(data.scope)
    if data.kind == "percent" and data.value > 100:
        raise ValidationFailed.field("value", "a percent coupon takes at most 100% off")
    t = CouponTemplate(**data.model_dump(exclude={"scope"}), **_scope_columns(data.scope), created_by=ctx.actor,
                       created_at=ctx.now)
    ctx.session.add(t)
    ctx.session.flush()
    return _template_out(t)


def _status(c: Coupon, now) -> str:
    """What a coupon is now: an issued or claimed one past its expiry is expired (job or not)."""
    return EXPIRED if c.status in (ISSUED, CLAIMED) and c.expires_at <= now else c.status


def _coupon_out(c: Coupon, t: CouponTemplate, now) -> CouponOut:
    return CouponOut(id=c.id, code=c.code, template_id=t.id, name=t.name, kind=t.kind, value=t.value,
                     min_spend=t.min_spend, member_id=c.member_id, status=_status(c, now), issued_at=c.issued_at,
                     expires_at=c.expires_at, claimed_at=c.claimed_at, used_at=c.used_at, order_id=c.order_id)


def issue_coupons(ctx: Context, data: CouponIssueIn) -> CouponIssueOut:
    """Issue one coupon of a template to each member listed (in bulk), within its per-member limit."""
    session = ctx.session
    t = session.scalars(select(CouponTemplate).where(CouponTemplate.id == data.template_id)
                        .with_for_update()).one_or_none()  # issues of one template queue: limits hold
    if t is None:
        raise NotFound(f"coupon template {data.template_id} does not exist", code="unknown_template",
                       details=[{"field": "template_id", "message": "no such template"}])
    known = membership.existing_members(session, data.member_ids)
    for i, member_id in enumerate(data.member_ids):
        if member_id not in known:
            raise NotFound(f"member {member_id} does not exist", code="unknown_member",
                           details=[{"field": f"member_ids[{i}]", "message": "no such member"}])
    if t.per_member_limit is not None:
        held = dict(session.execute(select(Coupon.member_id, func.count()).where(
            Coupon.template_id == t.id, Coupon.member_id.in_(sorted(known))).group_by(Coupon.member_id)).all())
        for i, member_id in enumerate(data.member_ids):
            held[member_id] = held.get(member_id, 0) + 1
            if held[member_id] > t.per_member_limit:
                raise Conflict(f"member {member_id} would hold more than {t.per_member_limit} of these coupons",
                               code="coupon_limit_reached", details=[{"field": f"member_ids[{i}]"}])
    coupons = [Coupon(code=f"C{secrets.token_hex(6).upper()}", template_id=t.id, member_id=member_id, status=ISSUED,
                      issued_at=ctx.now, expires_at=ctx.now + timedelta(days=t.valid_days), issued_by=ctx.actor)
               for member_id in data.member_ids]
    session.add_all(coupons)
    session.flush()
    ctx.emit(CouponsIssued(template_id=t.id, member_ids=data.member_ids, count=len(coupons), by=ctx.actor))
    return CouponIssueOut(issued=[_coupon_out(c, t, ctx.now) for c in coupons])


def claim_coupon(ctx: Context, data: CouponClaimIn) -> CouponOut:
    """The member claims a coupon issued to them: it can then be used at checkout until it expires."""
    c = ctx.session.scalars(select(Coupon).where(Coupon.code == data.code.upper()).with_for_update()).one_or_none()
    if c is None or c.member_id != data.member_id:
        raise NotFound(f"no coupon {data.code} for member {data.member_id}", code="unknown_coupon",
                       details=[{"field": "code", "message": "no such coupon for this member"}])
    if _status(c, ctx.now) == EXPIRED and c.status != EXPIRED:
        COUPON_WORKFLOW.apply(c, "expire", label=c.code)  # it is, whether or not anyone looked
    else:
        COUPON_WORKFLOW.apply(c, "claim", label=c.code)
        c.claimed_at = ctx.now
    ctx.session.flush()
    if c.status == EXPIRED:
        raise Conflict(f"coupon {c.code} expired at {c.expires_at:%Y-%m-%d %H:%M} UTC", code="coupon_expired",
                       details=[{"field": "code", "status": EXPIRED}])
    return _coupon_out(c, ctx.session.get(CouponTemplate, c.template_id), ctx.now)


def list_coupons(ctx: Context, data: CouponListIn) -> Page[CouponOut]:
    """A member's coupons with their status (an issued or claimed coupon past its expiry is expired)."""
    query = select(Coupon, CouponTemplate).join(CouponTemplate, CouponTemplate.id == Coupon.template_id).where(
        Coupon.member_id == data.member_id)
    now = ctx.now
    if data.status == EXPIRED:
        query = query.where((Coupon.status == EXPIRED) | (Coupon.status.in_((ISSUED, CLAIMED))
                                                          & (Coupon.expires_at <= now)))
    elif data.status in (ISSUED, CLAIMED):
        query = query.where(Coupon.status == data.status, Coupon.expires_at > now)
    elif data.status == USED:
        query = query.where(Coupon.status == USED)
    return paginate(ctx.session, query, data, lambda row: _coupon_out(row[0], row[1], now), Coupon.id.desc(),
                    entities=False)


def expire_coupons(caller: Caller) -> JobRunOut:
    """Mark expired the issued and claimed coupons past their expiry (the workflow's ``expire``),
    1,000 per unit of work; a coupon is refused at checkout once past its expiry in any case."""
    expire = COUPON_WORKFLOW.transitions["expire"]

    def batch(ctx: Context) -> int:
        ids = list(ctx.session.scalars(select(Coupon.id).where(Coupon.status.in_(expire.sources),
                                                               Coupon.expires_at <= ctx.now)
                                       .order_by(Coupon.id).limit(1000)))
        if not ids:
            return 0
        return ctx.session.execute(update(Coupon).where(Coupon.id.in_(ids), Coupon.status.in_(expire.sources))
                                   .values(status=expire.targets[0]).execution_options(synchronize_session=False)
                                   ).rowcount

    def work() -> dict[str, Any]:
        total = 0
        while (done := uow.run(batch, caller)) > 0:
            total += done
        return {"processed": total}

    return run_job(caller, work)


# --- quotes --------------------------------------------------------------------------------

def adjustment_out(a: pricing.Adjustment | pricing.Applied) -> AdjustmentOut:
    return AdjustmentOut(source=a.source, promotion_id=a.ref if a.source == "promotion" else None,
                         coupon_id=a.ref if a.source == "coupon" else None, kind=a.kind, amount=a.amount,
                         reason=a.reason)


def quote_out(q: checkout.Quote, customer_id: int | None) -> QuoteOut:
    p = q.priced
    return QuoteOut(
        customer_id=customer_id, subtotal=p.subtotal, promotion_discount=p.promotion_discount,
        coupon_discount=p.coupon_discount, points_used=p.points_used, points_discount=p.points_discount, total=p.total,
        applied=[adjustment_out(a) for a in p.applied],
        lines=[QuoteLineOut(line_no=i + 1, sku_id=ln.sku_id, sku_code=ln.sku_code, unit_price=ln.unit_price,
                            quantity=ln.qty, list_amount=ln.list_amount, discount=ln.discount, amount=ln.amount,
                            adjustments=[adjustment_out(a) for a in ln.adjustments])
               for i, ln in enumerate(p.lines)])


def price_quote(ctx: Context, data: PriceQuoteIn) -> QuoteOut:
    """Price a cart as an order of it would be: every line's list price, each promotion's amount and
    reason, the coupon and points discounts, and the total (nothing is taken or reserved)."""
    try:
        skus = find_skus(ctx.session, [ln.sku for ln in data.lines])
    except ErpError as exc:
        raise exc.locate(lambda i: f"lines[{i}].sku") from None
    q = checkout.quote(ctx.session, ctx.now, skus, [ln.qty for ln in data.lines], member_id=data.customer_id,
                       coupon_code=data.coupon, points=data.points)
    return quote_out(q, data.customer_id)

