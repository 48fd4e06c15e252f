"""The promotion functions (service ``promo``): promotions, coupons and price quotes.

``marketing`` (and ``manager``) manage promotions and coupons; cashiers read promotions, claim
coupons for the members they serve, list a member's coupons and quote prices.
"""
from __future__ import annotations

from ..jobs.api import JobRunOut
from ..operations import CONNECTOR, operation
from ..schemas import Page
from . import services
from .schemas import (
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
    QuoteOut,
)

MARKETING = ("admin", "manager", "marketing")
STAFF = MARKETING + ("cashier",)
PROMOTION_PATH = "/{promotion}"

operation(
    "promo-create", service="promo", summary="Create a promotion", input=PromotionCreateIn, output=PromotionOut,
    roles=MARKETING, status=201, idempotent=True,
)(services.create_promotion)
operation(
    "promo-get", service="promo", summary="One promotion", input=PromotionRefIn, output=PromotionOut, roles=STAFF,
    methods=("GET",), path=PROMOTION_PATH,
)(services.get_promotion)
operation(
    "promo-list", service="promo", summary="List promotions", input=PromotionListIn, output=Page[PromotionOut],
    roles=STAFF, methods=("GET",),
)(services.list_promotions)
operation(
    "promo-update", service="promo", summary="Change a promotion: enable or disable it, its window, figures, limits",
    input=PromotionUpdateIn, output=PromotionOut, roles=MARKETING, methods=("PATCH", "POST"), path=PROMOTION_PATH,
    idempotent=True,
)(services.update_promotion)
operation(
    "coupon-template-create", service="promo", summary="Create a coupon template", input=CouponTemplateIn,
    output=CouponTemplateOut, roles=MARKETING, status=201, idempotent=True,
)(services.create_coupon_template)
operation(
    "coupon-issue", service="promo", summary="Issue coupons of a template to members, in bulk", input=CouponIssueIn,
    output=CouponIssueOut, roles=MARKETING, status=201, idempotent=True,
)(services.issue_coupons)
operation(
    "coupon-claim", service="promo", summary="A member claims a coupon issued to them", input=CouponClaimIn,
    output=CouponOut, roles=STAFF, idempotent=True,
)(services.claim_coupon)
operation(
    "coupon-list", service="promo", summary="A member's coupons with their status", input=CouponListIn,
    output=Page[CouponOut], roles=STAFF, methods=("GET",),
)(services.list_coupons)
operation(
    "price-quote", service="promo", summary="Price a cart: promotions, coupon, points, total (as an order would)",
    input=PriceQuoteIn, output=QuoteOut, roles=STAFF, scale="hot",
)(services.price_quote)
operation(
    "job-expire-coupons", service="job", summary="Mark expired the coupons past their expiry",
    output=JobRunOut, roles=CONNECTOR, schedule="13 * * * *", transactional=False,
)(services.expire_coupons)
