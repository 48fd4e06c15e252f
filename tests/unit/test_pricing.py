"""The pricing engine, table-driven: every case's expected total is worked out by hand in the table.

Cart shorthand: ``L(sku, price, qty, item, path)``; a promotion ``R(id, kind, **params)``. Unless a
case says otherwise: SKU 1 (item 10, category /1/2/) at 100.00, SKU 2 (item 20, /1/3/) at 50.00,
SKU 3 (item 30, /4/) at 9.99; now = 2026-06-01 12:00 UTC; points 100 = 1.00, cap 50%.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from erp_common.errors import Conflict
from erp_common.promotion.pricing import (
    AMOUNT_OFF,
    BUY_X_GET_Y,
    CATEGORIES,
    ITEMS,
    PERCENT_OFF,
    SKUS,
    SPEND_OFF,
    TIER_PRICE,
    Buyer,
    CartLine,
    CouponRule,
    PointsPolicy,
    Rule,
    Scope,
    price,
    refund_share,
    spread,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def L(sku=1, qty=1, unit=None):  # noqa: N802 - a table's shorthand
    prices = {1: "100.00", 2: "50.00", 3: "9.99", 4: "0.05", 5: "33.33"}
    items = {1: 10, 2: 20, 3: 30, 4: 40, 5: 50}
    paths = {1: "/1/2/", 2: "/1/3/", 3: "/4/", 4: "/4/", 5: "/4/"}
    return CartLine(sku, f"S{sku}", D(unit or prices[sku]), D(str(qty)), items[sku], paths[sku])


def R(id, kind, **kw):  # noqa: N802, A002
    for key in ("percent", "amount", "threshold"):
        if key in kw:
            kw[key] = D(str(kw[key]))
    scope = kw.pop("scope", None)
    if scope:
        kw["scope"] = Scope(scope[0], frozenset(scope[1]))
    if "tiers" in kw:
        kw["tiers"] = frozenset(kw["tiers"])
    return Rule(id=id, name=f"P{id}", kind=kind, **kw)


GOLD = Buyer("gold", D("0.05"), 10_000)
SILVER = Buyer("silver", D("0.02"), 0)
POINTS = Buyer("normal", D("0"), 5_000)
C_AMOUNT = CouponRule(1, "C-20", "20 off", "amount", D("20"), D("100"))
C_PERCENT = CouponRule(2, "C-10P", "10%", "percent", D("10"))
C_SKU2 = CouponRule(3, "C-S2", "5 off S2", "amount", D("5"), scope=Scope(SKUS, frozenset({2})))

# (name, lines, rules, options, expected total, expected discounts by line or None)
CASES = [
    # --- each kind alone -------------------------------------------------------------------
    ("no promotion", [L(1, 2), L(2, 1)], [], {}, "250.00"),
    ("percent off all", [L(1, 2), L(2, 1)], [R(1, PERCENT_OFF, percent=10)], {}, "225.00"),  # 250 - 25
    ("percent off rounds half up per line", [L(3, 1)], [R(1, PERCENT_OFF, percent=15)], {}, "8.49"),
    # 9.99 * 15% = 1.4985 -> 1.50; 9.99 - 1.50 = 8.49
    ("percent off rounding .005 goes up", [L(4, 1)], [R(1, PERCENT_OFF, percent=10)], {}, "0.04"),
    # 0.05 * 10% = 0.005 -> 0.01 off
    ("fixed amount off", [L(1, 1), L(2, 1)], [R(1, AMOUNT_OFF, amount=30)], {}, "120.00"),
    ("fixed amount larger than the cart stops at zero", [L(3, 1)], [R(1, AMOUNT_OFF, amount=50)], {}, "0.00"),
    ("spend 200 get 30 off reached", [L(1, 2)], [R(1, SPEND_OFF, threshold=200, amount=30)], {}, "170.00"),
    ("spend 200 get 30 off not reached", [L(1, 1), L(2, 1)], [R(1, SPEND_OFF, threshold=200, amount=30)], {},
     "150.00"),
    ("spend off at exactly the threshold", [L(1, 1), L(2, 2)], [R(1, SPEND_OFF, threshold=200, amount=30)], {},
     "170.00"),
    ("spend off not repeated", [L(1, 5)], [R(1, SPEND_OFF, threshold=200, amount=30)], {}, "470.00"),
    ("spend off repeated per 200", [L(1, 5)], [R(1, SPEND_OFF, threshold=200, amount=30, repeat=True)], {},
     "440.00"),  # 500 reaches 200 twice: 60 off
    ("buy 2 get 1 free, 3 bought", [L(2, 3)], [R(1, BUY_X_GET_Y, buy_qty=2, free_qty=1)], {}, "100.00"),
    ("buy 2 get 1 free, 5 bought: one group", [L(2, 5)], [R(1, BUY_X_GET_Y, buy_qty=2, free_qty=1)], {}, "200.00"),
    ("buy 2 get 1 free, 6 bought: two groups", [L(2, 6)], [R(1, BUY_X_GET_Y, buy_qty=2, free_qty=1)], {},
     "200.00"),
    ("buy 2 get 1 free, 2 bought: none free", [L(2, 2)], [R(1, BUY_X_GET_Y, buy_qty=2, free_qty=1)], {}, "100.00"),
    ("tier price for gold", [L(1, 2)], [R(1, TIER_PRICE)], {"buyer": GOLD}, "190.00"),
    ("tier price without a member", [L(1, 2)], [R(1, TIER_PRICE)], {}, "200.00"),
    ("tier price for another tier", [L(1, 2)], [R(1, TIER_PRICE, tiers=["gold"])], {"buyer": SILVER}, "200.00"),
    ("tier price rounds per line", [L(5, 1)], [R(1, TIER_PRICE)], {"buyer": GOLD}, "31.66"),
    # 33.33 * 5% = 1.6665 -> 1.67; 33.33 - 1.67 = 31.66
    # --- scope ----------------------------------------------------------------------------
    ("scope sku", [L(1, 1), L(2, 1)], [R(1, PERCENT_OFF, percent=10, scope=(SKUS, [2]))], {}, "145.00"),
    ("scope item", [L(1, 1), L(2, 1)], [R(1, PERCENT_OFF, percent=10, scope=(ITEMS, [10]))], {}, "140.00"),
    ("scope category includes sub-categories", [L(1, 1), L(2, 1), L(3, 1)],
     [R(1, PERCENT_OFF, percent=10, scope=(CATEGORIES, [1]))], {}, "144.99"),  # 100+50 at 90% + 9.99
    ("scope sub-category only", [L(1, 1), L(2, 1)], [R(1, PERCENT_OFF, percent=20, scope=(CATEGORIES, [3]))], {},
     "140.00"),
    ("scope that holds no line", [L(1, 1)], [R(1, PERCENT_OFF, percent=50, scope=(SKUS, [99]))], {}, "100.00"),
    ("spend threshold counts the scope only", [L(1, 1), L(2, 2)],
     [R(1, SPEND_OFF, threshold=150, amount=20, scope=(SKUS, [2]))], {}, "200.00"),  # S2 spend is 100
    # --- combining ------------------------------------------------------------------------
    ("stackable: percent then spend off on what is left", [L(1, 3)],
     [R(1, PERCENT_OFF, percent=10), R(2, SPEND_OFF, threshold=250, amount=20)], {}, "250.00"),
    # 300 -> 270 (10%), 270 >= 250 -> 250
    ("stackable: line promotions before order ones whatever the priority", [L(1, 3)],
     [R(1, SPEND_OFF, threshold=300, amount=20, priority=9), R(2, PERCENT_OFF, percent=10)], {}, "270.00"),
    # 10% first: 270 < 300, the spend-off is not reached
    ("stackable: two percents compound by priority", [L(1, 1)],
     [R(1, PERCENT_OFF, percent=10), R(2, PERCENT_OFF, percent=20, priority=5)], {}, "72.00"),
    # 100 -> 80 -> 72
    ("tier price then percent", [L(1, 1)], [R(1, TIER_PRICE, priority=5), R(2, PERCENT_OFF, percent=10)],
     {"buyer": GOLD}, "85.50"),  # 100 -> 95 -> 85.50
    ("exclusive beats a smaller stackable set", [L(1, 2)],
     [R(1, PERCENT_OFF, percent=30, exclusive=True), R(2, PERCENT_OFF, percent=10), R(3, AMOUNT_OFF, amount=10)],
     {}, "140.00"),  # stackable: 200 -> 180 -> 170 (30 off); exclusive: 60 off
    ("stackable set beats a smaller exclusive", [L(1, 2)],
     [R(1, PERCENT_OFF, percent=10, exclusive=True), R(2, PERCENT_OFF, percent=10), R(3, AMOUNT_OFF, amount=10)],
     {}, "170.00"),
    ("best of two exclusives", [L(1, 2)],
     [R(1, AMOUNT_OFF, amount=50, exclusive=True), R(2, PERCENT_OFF, percent=20, exclusive=True)], {}, "150.00"),
    ("tie: the stackable set wins", [L(1, 1)],
     [R(1, AMOUNT_OFF, amount=10, exclusive=True), R(2, PERCENT_OFF, percent=10)], {}, "90.00"),
    # --- limits and time windows -----------------------------------------------------------
    ("usage limit reached", [L(1, 1)], [R(1, PERCENT_OFF, percent=10, available=False)], {}, "100.00"),
    ("window starts now: applies", [L(1, 1)], [R(1, PERCENT_OFF, percent=10, starts_at=NOW)], {}, "90.00"),
    ("window ends now: over", [L(1, 1)], [R(1, PERCENT_OFF, percent=10, ends_at=NOW)], {}, "100.00"),
    ("window not started", [L(1, 1)], [R(1, PERCENT_OFF, percent=10, starts_at=NOW + HOUR)], {}, "100.00"),
    ("inside the window", [L(1, 1)],
     [R(1, PERCENT_OFF, percent=10, starts_at=NOW - HOUR, ends_at=NOW + HOUR)], {}, "90.00"),
    # --- coupons and points ----------------------------------------------------------------
    ("amount coupon after promotions", [L(1, 2)], [R(1, PERCENT_OFF, percent=10)], {"coupon": C_AMOUNT},
     "160.00"),  # 200 -> 180 -> 160
    ("percent coupon", [L(1, 1), L(2, 1)], [], {"coupon": C_PERCENT}, "135.00"),
    ("coupon scoped to one SKU", [L(1, 1), L(2, 1)], [], {"coupon": C_SKU2}, "145.00"),
    ("points: 2000 points are 20.00", [L(1, 1)], [], {"buyer": POINTS, "points": 2000}, "80.00"),
    ("points up to the 50% cap", [L(1, 1)], [R(1, PERCENT_OFF, percent=10)], {"buyer": POINTS, "points": 4500},
     "45.00"),  # 90 left, cap 45.00
    ("promotion, coupon and points together", [L(1, 2), L(2, 2)],
     [R(1, PERCENT_OFF, percent=10), R(2, SPEND_OFF, threshold=200, amount=20)],
     {"coupon": C_AMOUNT, "points": 1000, "buyer": GOLD}, "220.00"),
    # 300 -> 270 -> 250 (spend off) -> 230 (coupon) -> 220 (10.00 of points)
    ("an order discount spread over lines keeps cents", [L(5, 1), L(5, 1), L(5, 1)],
     [R(1, AMOUNT_OFF, amount=10)], {}, "89.99"),  # 99.99 - 10.00
]


@pytest.mark.parametrize("name, lines, rules, options, total", CASES, ids=[c[0] for c in CASES])
def test_pricing_table(name, lines, rules, options, total):
    priced = price(lines, rules, now=NOW, policy=PointsPolicy(100, D("0.5")), **options)
    assert priced.total == D(total), name
    # the invariants every case keeps
    assert priced.total == sum(ln.amount for ln in priced.lines)
    assert all(ln.amount >= 0 for ln in priced.lines)
    assert all(ln.amount == ln.list_amount - sum(a.amount for a in ln.adjustments) for ln in priced.lines)
    assert priced.subtotal - priced.total == priced.promotion_discount + priced.coupon_discount \
        + priced.points_discount
    assert all(a.reason for ln in priced.lines for a in ln.adjustments)


def test_the_table_has_at_least_40_cases():
    assert len(CASES) + len(REFUSALS) + len(RETURNS) >= 40 and len(CASES) >= 40


def test_reasons_and_amounts_per_promotion():
    priced = price([L(1, 3)], [R(1, PERCENT_OFF, percent=10), R(2, SPEND_OFF, threshold=100, amount=20,
                                                                repeat=True)], now=NOW)
    assert [(a.ref, a.amount, a.reason) for a in priced.applied] == [
        (1, D("30.00"), "10% off (P1)"), (2, D("40.00"), "spend 100.00 get 20.00 off x2 (P2)")]
    assert priced.total == D("230.00")


def test_a_spread_discount_lands_on_lines_in_proportion():
    priced = price([L(1, 1), L(2, 1)], [R(1, AMOUNT_OFF, amount=10)], now=NOW)
    assert [ln.amount for ln in priced.lines] == [D("93.33"), D("46.67")]  # 6.67 and 3.33 (largest remainder)


REFUSALS = [
    ("coupon minimum spend not reached", [L(2, 1)], {"coupon": C_AMOUNT}, "coupon_not_applicable", "coupon"),
    ("coupon scope not in the cart", [L(1, 1)], {"coupon": C_SKU2}, "coupon_not_applicable", "coupon"),
    ("more points than the balance", [L(1, 1)], {"buyer": SILVER, "points": 100}, "insufficient_points", "points"),
    ("points beyond the cap", [L(1, 1)], {"buyer": POINTS, "points": 5001}, "insufficient_points", "points"),
    ("points beyond the cap with a balance", [L(1, 1)], {"buyer": GOLD, "points": 5100}, "points_over_cap",
     "points"),
]


@pytest.mark.parametrize("name, lines, options, code, field", REFUSALS, ids=[c[0] for c in REFUSALS])
def test_refusals_name_the_field(name, lines, options, code, field):
    with pytest.raises(Conflict) as refused:
        price(lines, [], now=NOW, **options)
    assert refused.value.code == code and refused.value.details[0]["field"] == field


RETURNS = [
    # (line amount, qty, returned before, returning, refund)
    ("return all of a discounted line", "170.00", "2", "0", "2", "170.00"),
    ("return half of a discounted line", "170.00", "2", "0", "1", "85.00"),
    ("return a third, cents round half up", "100.00", "3", "0", "1", "33.33"),
    ("the last part refunds what is left", "100.00", "3", "2", "1", "33.33"),
    ("the second of three", "100.00", "3", "1", "1", "33.34"),  # 66.67 - 33.33
]


@pytest.mark.parametrize("name, net, qty, before, returning, refund", RETURNS, ids=[c[0] for c in RETURNS])
def test_partial_returns_refund_the_discounted_amounts(name, net, qty, before, returning, refund):
    assert refund_share(D(net), D(qty), D(before), D(returning)) == D(refund)


def test_spread_never_exceeds_a_base_and_adds_up():
    shares = spread(D("0.05"), {0: D("0.01"), 1: D("0.01"), 2: D("0.04")})
    assert sum(shares.values()) == D("0.05") and all(shares[i] <= b for i, b in
                                                      {0: D("0.01"), 1: D("0.01"), 2: D("0.04")}.items())
