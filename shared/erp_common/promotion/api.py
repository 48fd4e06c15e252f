"""Promotion's public face: pricing an order's cart and what its unit of work does with the price.

``order-create`` calls ``price_order`` (the same pricing as ``price-quote``, then one use of each
applied limited promotion taken under its row lock, re-pricing without a promotion whose limit
another order reached meanwhile), writes the order, then ``record_order`` (the uses, the coupon
marked used, the points redeemed). A cancelled or wholly returned order calls ``release_order``.
"""
from __future__ import annotations

from decimal import Decimal

from ..catalog.api import SkuInfo
from ..context import Context
from .checkout import Quote, claim, promotions_changed, quote, unclaim
from .checkout import record as record_order
from .checkout import release as release_order
from .events import CouponsIssued, CouponUsed, PromotionChanged
from .pricing import Adjustment, Priced, PricedLine, refund_share
from .schemas import AdjustmentOut
from .services import adjustment_out

__all__ = ["Adjustment", "AdjustmentOut", "Priced", "PricedLine", "Quote", "adjustment_out", "price_order",
           "record_order", "refund_share", "release_order", "CouponsIssued", "CouponUsed", "PromotionChanged"]


def price_order(ctx: Context, skus: list[SkuInfo], qtys: list[Decimal], *, member_id: int | None,
                coupon_code: str | None = None, points: int = 0) -> Quote:
    """Price an order's cart and take one use of each applied limited promotion (row locks, in id
    order); a promotion whose limit was reached meanwhile is left out and the cart priced again."""
    without: frozenset[int] = frozenset()
    while True:
        q = quote(ctx.session, ctx.now, skus, qtys, member_id=member_id, coupon_code=coupon_code, points=points,
                  without=without)
        if not q.limited:
            return q
        if promotions_changed not in ctx.after_commit:  # uses taken (or given back): the copies read again
            ctx.after_commit.append(promotions_changed)
        spent = claim(ctx.session, q)
        if spent is None:
            return q
        unclaim(ctx.session, q, spent)  # the next price may not apply them: give back the uses taken
        without = without | {spent}
