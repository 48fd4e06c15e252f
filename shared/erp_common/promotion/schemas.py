"""Promotion inputs and outputs: promotions, coupon templates, coupons, and price quotes.

Amounts are money (strings or numbers); ``percent`` is a percentage (10 is 10% off). A scope is
``{"type": "all"}`` or ``{"type": "categories" | "items" | "skus", "ids": [...]}``; a category
covers its sub-categories.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AliasChoices, Field

from ..catalog.api import SkuRef
from ..schemas import (
    Id,
    Input,
    Int,
    Money,
    Name,
    NonNegativeMoney,
    Output,
    PageQuery,
    PositiveMoney,
    PositiveQuantity,
    Quantity,
    UtcDateTime,
)
from .models import COUPON_STATUSES
from .pricing import KINDS, SCOPES

ZERO = Decimal("0")
Kind = Literal[KINDS]  # type: ignore[valid-type]
Limit = Annotated[Int, Field(ge=1, le=100_000_000)]
TierCode = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[a-z0-9_-]+$")]
CouponCode = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")]


class ScopeIn(Input):
    type: Literal[SCOPES] = "all"  # type: ignore[valid-type]
    ids: Annotated[list[Id], Field(max_length=500)] = Field([], description="category, item or SKU ids")


class ScopeOut(Output):
    type: str
    ids: list[int]


class PromotionFields(Input):
    name: Annotated[Name, Field(max_length=100)]
    kind: Kind = Field(description="percent_off, amount_off, spend_off (满减), buy_x_get_y or tier_price")
    priority: Annotated[Int, Field(ge=0, le=1000)] = Field(0, description="higher applies first")
    exclusive: bool = Field(False, description="applies alone (the best of exclusive vs the stackable sum wins)")
    enabled: bool = True
    starts_at: UtcDateTime | None = None
    ends_at: UtcDateTime | None = None
    scope: ScopeIn = ScopeIn()
    percent: Annotated[Money, Field(ge=0, le=100)] = Field(ZERO, description="percent_off: 10 is 10% off")
    amount: NonNegativeMoney = Field(ZERO, description="amount_off, spend_off: the amount taken off")
    threshold: NonNegativeMoney = Field(ZERO, description="spend_off (and amount_off): the spend needed")
    repeat: bool = Field(False, description="spend_off: once per threshold reached")
    buy_qty: Annotated[Int, Field(ge=0, le=1000)] = 0
    free_qty: Annotated[Int, Field(ge=0, le=1000)] = 0
    tiers: Annotated[list[TierCode], Field(max_length=20)] = Field([], description="tier_price: for these tiers")
    usage_limit: Limit | None = Field(None, description="orders it may be applied to, in all")
    per_member_limit: Limit | None = Field(None, description="orders per member (members only, then)")


class PromotionCreateIn(PromotionFields):
    pass


class PromotionUpdateIn(Input):
    promotion: Id = Field(description="the promotion id, in the path")
    name: Annotated[Name, Field(max_length=100)] | None = None
    priority: Annotated[Int, Field(ge=0, le=1000)] | None = None
    exclusive: bool | None = None
    enabled: bool | None = None
    starts_at: UtcDateTime | None = None
    ends_at: UtcDateTime | None = None
    scope: ScopeIn | None = None
    percent: Annotated[Money, Field(ge=0, le=100)] | None = None
    amount: NonNegativeMoney | None = None
    threshold: NonNegativeMoney | None = None
    repeat: bool | None = None
    buy_qty: Annotated[Int, Field(ge=0, le=1000)] | None = None
    free_qty: Annotated[Int, Field(ge=0, le=1000)] | None = None
    tiers: Annotated[list[TierCode], Field(max_length=20)] | None = None
    usage_limit: Limit | None = None
    per_member_limit: Limit | None = None


class PromotionOut(Output):
    id: int
    name: str
    kind: str
    priority: int
    exclusive: bool
    enabled: bool
    starts_at: UtcDateTime | None
    ends_at: UtcDateTime | None
    scope: ScopeOut
    percent: Money
    amount: Money
    threshold: Money
    repeat: bool
    buy_qty: int
    free_qty: int
    tiers: list[str]
    usage_limit: int | None
    per_member_limit: int | None
    used_count: int = Field(description="orders that used it, counted for a promotion with a usage limit (a "
                                        "promotion without one is not locked and counted by every order)")
    created_by: str
    created_at: UtcDateTime
    updated_at: UtcDateTime


class PromotionRefIn(Input):
    promotion: Id = Field(description="the promotion id, in the path")


class PromotionListIn(PageQuery):
    enabled: bool | None = None
    kind: Kind | None = None
    active_at: UtcDateTime | None = Field(None, description="only those whose time window holds this time")


class CouponTemplateIn(Input):
    name: Annotated[Name, Field(max_length=100)]
    kind: Literal["amount", "percent"] = "amount"
    value: PositiveMoney = Field(description="the amount off, or the percentage off (10 is 10%)")
    min_spend: NonNegativeMoney = ZERO
    scope: ScopeIn = ScopeIn()
    valid_days: Annotated[Int, Field(ge=1, le=3650)] = Field(30, description="a coupon expires this long after issue")
    per_member_limit: Limit | None = Field(None, description="coupons of this template a member may hold")
    give_back: bool = Field(True, description="a cancelled or fully returned order gives the coupon back")


class CouponTemplateOut(Output):
    id: int
    name: str
    kind: str
    value: Money
    min_spend: Money
    scope: ScopeOut
    valid_days: int
    per_member_limit: int | None
    give_back: bool
    created_by: str
    created_at: UtcDateTime


class CouponIssueIn(Input):
    template_id: Id
    member_ids: Annotated[list[Id], Field(min_length=1, max_length=1000)]


class CouponOut(Output):
    id: int
    code: str
    template_id: int
    name: str
    kind: str
    value: Money
    min_spend: Money
    member_id: int
    status: str
    issued_at: UtcDateTime
    expires_at: UtcDateTime
    claimed_at: UtcDateTime | None
    used_at: UtcDateTime | None
    order_id: int | None


class CouponIssueOut(Output):
    issued: list[CouponOut]


class CouponClaimIn(Input):
    code: CouponCode
    member_id: Id = Field(description="the member claiming it: the one it was issued to")


class CouponListIn(PageQuery):
    member_id: Id
    status: Literal[COUPON_STATUSES] | None = None  # type: ignore[valid-type]


class QuoteLineIn(Input):
    sku: SkuRef = Field(validation_alias=AliasChoices("sku", "sku_id", "sku_code"))
    qty: PositiveQuantity = Field(validation_alias=AliasChoices("qty", "quantity", "qty_ordered"))


class PriceQuoteIn(Input):
    customer_id: Id | None = Field(None, validation_alias=AliasChoices("customer_id", "member_id"))
    lines: Annotated[list[QuoteLineIn], Field(min_length=1, max_length=100)] = Field(
        validation_alias=AliasChoices("lines", "details"))
    coupon: CouponCode | None = Field(None, description="a coupon code the member has claimed")
    points: Annotated[Int, Field(ge=0, le=100_000_000)] = Field(0, description="points to redeem")


class AdjustmentOut(Output):
    source: str
    promotion_id: int | None = None
    coupon_id: int | None = None
    kind: str
    amount: Money
    reason: str


class QuoteLineOut(Output):
    line_no: int
    sku_id: int
    sku_code: str
    unit_price: Money
    quantity: Quantity
    list_amount: Money
    discount: Money
    amount: Money
    adjustments: list[AdjustmentOut]


class QuoteOut(Output):
    customer_id: int | None
    lines: list[QuoteLineOut]
    applied: list[AdjustmentOut]
    subtotal: Money
    promotion_discount: Money
    coupon_discount: Money
    points_used: int
    points_discount: Money
    total: Money
