"""Promotion's events: promotions created or changed, coupons issued and used. Members by id only."""
from __future__ import annotations

from ..events import DomainEvent
from ..schemas import Id


class PromotionChanged(DomainEvent):
    event_type = "promotion.changed"

    promotion_id: Id
    name: str
    kind: str
    enabled: bool
    by: str


class CouponsIssued(DomainEvent):
    event_type = "coupon.issued"

    template_id: Id
    member_ids: list[Id]
    count: int
    by: str


class CouponUsed(DomainEvent):
    event_type = "coupon.used"

    coupon_id: Id
    member_id: Id
    order_id: Id
