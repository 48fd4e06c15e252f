"""Promotion tables: promotions and their uses, coupon templates and coupons.

A promotion's ``used_count`` is raised in the unit of work of the order that uses it, with the
promotion row locked, so a usage limit holds under concurrent orders; ``promotion_uses`` keeps one
row per order and promotion (per-member limits count them). A coupon moves only through
``COUPON_WORKFLOW`` (promotion/workflow.py); using one is a conditional ``UPDATE`` from the states
the workflow allows, so two checkouts can never both use it.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, Money, UTCDateTime

ISSUED, CLAIMED, USED, EXPIRED = "issued", "claimed", "used", "expired"
COUPON_STATUSES = (ISSUED, CLAIMED, USED, EXPIRED)


class Promotion(Base):
    __tablename__ = "promotions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    scope_type: Mapped[str] = mapped_column(String(12))
    scope_ids: Mapped[str] = mapped_column(Text)  # JSON list of ids
    percent: Mapped[Decimal] = mapped_column(Money())
    amount: Mapped[Decimal] = mapped_column(Money())
    threshold: Mapped[Decimal] = mapped_column(Money())
    repeat: Mapped[bool] = mapped_column(Boolean, default=False)
    buy_qty: Mapped[int] = mapped_column(Integer, default=0)
    free_qty: Mapped[int] = mapped_column(Integer, default=0)
    tiers: Mapped[str] = mapped_column(Text)  # JSON list of tier codes
    usage_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    per_member_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    used_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_promotions_enabled", "enabled", "ends_at"),)


class PromotionUse(Base):
    __tablename__ = "promotion_uses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    promotion_id: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    order_id: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("promotion_id", "order_id", name="uq_promotion_uses_order"),
        Index("ix_promotion_uses_member", "promotion_id", "member_id"),
    )


class CouponTemplate(Base):
    __tablename__ = "coupon_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))  # amount | percent
    value: Mapped[Decimal] = mapped_column(Money())
    min_spend: Mapped[Decimal] = mapped_column(Money())
    scope_type: Mapped[str] = mapped_column(String(12))
    scope_ids: Mapped[str] = mapped_column(Text)
    valid_days: Mapped[int] = mapped_column(Integer)  # a coupon expires this long after it is issued
    per_member_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    give_back: Mapped[bool] = mapped_column(Boolean, default=True)  # a cancelled or returned order gives it back
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Coupon(Base):
    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    template_id: Mapped[int] = mapped_column(Integer, index=True)
    member_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    order_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    issued_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_coupons_member", "member_id", "status"),)
