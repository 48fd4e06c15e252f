"""The pricing engine: one pure function from a cart to priced lines. Quotes and orders both use it.

No database, no clock, no I/O: the caller hands it the cart's lines (list prices, quantities,
where each SKU sits in the catalog), the promotions that could apply (already read), the buyer
(tier, discount rate, points balance), a coupon and the points to redeem; it answers every line's
list amount, each discount on it with its amount and a reason people can read, and the total.

The combining rules:

1. **Eligibility.** A promotion counts if it is enabled, ``starts_at <= now < ends_at`` (either
   end open), its usage limits leave it available to this buyer, and its scope (all, categories
   with their sub-categories, items, SKUs) holds at least one line. A promotion that would take
   nothing off (a threshold not reached, no member tier) is not applied and uses up no limit.
2. **Exclusive or stackable.** The stackable promotions are applied together; each exclusive one
   is applied alone; the cart gets whichever of these gives the larger discount (on a tie, the
   stackable set, then the exclusive promotion of higher priority, then lower id).
3. **Order of application.** Line promotions first (percentage off, buy X get Y free, member tier
   price), then order promotions (fixed amount off, spend X get Y off), each stage by priority
   (higher first), then id. Each discount is computed on what the earlier ones left: 10% off
   after a tier price of 5% off is 10% of the 95%.
4. **Coupon, then points.** A coupon applies to what the promotions left of the lines in its
   scope (its minimum spend is checked on that); points apply last, to what is left of the
   order: ``ERP_POINTS_REDEEM_RATE`` points are 1.00, at most ``ERP_POINTS_REDEEM_CAP`` of it.
5. **Spreading.** An order-level discount (fixed amount, spend X get Y, an amount coupon, points)
   is spread over the lines it covers in proportion to what is left of each, in cents, the
   leftover cents going to the lines with the largest remainders (then the earlier line): each
   line then carries its own discounted amount, which is what a return of that line refunds.
6. **Rounding.** Every discount on a line is rounded to the cent, half up, when it is computed;
   a line's amount is its list amount less its discounts, and the total is the sum of the lines.
7. **Never below zero.** No discount takes more than what is left of a line (or of the order).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_FLOOR, ROUND_UP, Decimal

from ..errors import Conflict
from ..schemas import CENT, format_money, round_amount

ZERO = Decimal("0")
HUNDRED = Decimal("100")

PERCENT_OFF, AMOUNT_OFF, SPEND_OFF, BUY_X_GET_Y, TIER_PRICE = (
    "percent_off", "amount_off", "spend_off", "buy_x_get_y", "tier_price")
KINDS = (PERCENT_OFF, AMOUNT_OFF, SPEND_OFF, BUY_X_GET_Y, TIER_PRICE)
LINE_KINDS = frozenset({PERCENT_OFF, BUY_X_GET_Y, TIER_PRICE})
ALL, CATEGORIES, ITEMS, SKUS = "all", "categories", "items", "skus"
SCOPES = (ALL, CATEGORIES, ITEMS, SKUS)


@dataclass(frozen=True)
class Scope:
    type: str = ALL
    ids: frozenset[int] = frozenset()

    def holds(self, line: CartLine) -> bool:
        if self.type == ALL:
            return True
        if self.type == SKUS:
            return line.sku_id in self.ids
        if self.type == ITEMS:
            return line.item_id in self.ids
        return any(f"/{cid}/" in line.category_path for cid in self.ids)  # a path lists every ancestor


@dataclass(frozen=True)
class CartLine:
    sku_id: int
    sku_code: str
    unit_price: Decimal
    qty: Decimal
    item_id: int | None = None
    category_path: str = ""  # "/3/17/": the SKU's category and every category above it


@dataclass(frozen=True)
class Rule:
    """A promotion as the engine sees it."""

    id: int
    name: str
    kind: str
    priority: int = 0
    exclusive: bool = False
    scope: Scope = Scope()
    percent: Decimal = ZERO  # percent_off: 10 is 10% off
    amount: Decimal = ZERO  # amount_off, spend_off: the amount taken off
    threshold: Decimal = ZERO  # spend_off (and amount_off): the spend it needs
    repeat: bool = False  # spend_off: once per threshold reached (200 off 1000 twice at 2000)
    buy_qty: int = 0  # buy_x_get_y: of every buy + free units of one SKU, free ones cost nothing
    free_qty: int = 0
    tiers: frozenset[str] = frozenset()  # tier_price: the tiers it is for (empty: any tier with a rate)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    available: bool = True  # False once its total or per-member limit is used up

    def live(self, now: datetime) -> bool:
        return self.available and (self.starts_at is None or self.starts_at <= now) and (
            self.ends_at is None or now < self.ends_at)


@dataclass(frozen=True)
class CouponRule:
    id: int
    code: str
    name: str
    kind: str  # "amount" off, or "percent" off
    value: Decimal
    min_spend: Decimal = ZERO
    scope: Scope = Scope()


@dataclass(frozen=True)
class Buyer:
    tier: str | None = None
    discount_rate: Decimal = ZERO  # the tier's: 0.05 is 5% off tier prices
    points_balance: int = 0


@dataclass(frozen=True)
class PointsPolicy:
    rate: int = 100  # points per 1.00
    cap: Decimal = Decimal("0.5")  # share of the order points may pay


@dataclass
class Adjustment:
    source: str  # "promotion", "coupon" or "points"
    ref: int | None  # the promotion or coupon id
    kind: str
    amount: Decimal
    reason: str


@dataclass
class PricedLine:
    sku_id: int
    sku_code: str
    unit_price: Decimal
    qty: Decimal
    list_amount: Decimal
    amount: Decimal  # after every discount
    adjustments: list[Adjustment] = field(default_factory=list)

    @property
    def discount(self) -> Decimal:
        return self.list_amount - self.amount


@dataclass
class Applied:
    """A promotion (or the coupon, or points) applied to the cart, with its whole amount."""

    source: str
    ref: int | None
    name: str
    kind: str
    amount: Decimal
    reason: str


@dataclass
class Priced:
    lines: list[PricedLine]
    applied: list[Applied]
    subtotal: Decimal  # the sum of the list amounts
    promotion_discount: Decimal
    coupon_discount: Decimal
    points_used: int
    points_discount: Decimal
    total: Decimal

    @property
    def promotion_ids(self) -> list[int]:
        return [a.ref for a in self.applied if a.source == "promotion" and a.ref is not None]


def _money(value: Decimal) -> str:
    return format_money(value)


def _pct(value: Decimal) -> str:
    return format(value.normalize(), "f")


def spread(total: Decimal, bases: dict[int, Decimal]) -> dict[int, Decimal]:
    """``total`` (cents, at most the sum of ``bases``) shared in proportion to ``bases``, in cents.

    Each share is rounded down to the cent and the cents left over go to the largest remainders
    (then the earlier line), so the shares add up to ``total`` and none exceeds its base.
    """
    base = sum(bases.values(), ZERO)
    if total <= 0 or base <= 0:
        return {}
    if total >= base:
        return dict(bases)
    exact = {i: total * b / base for i, b in bases.items()}
    shares = {i: e.quantize(CENT, rounding=ROUND_DOWN) for i, e in exact.items()}
    left = int((total - sum(shares.values(), ZERO)) / CENT)
    for i in sorted(exact, key=lambda i: (-(exact[i] - shares[i]), i))[:left]:
        shares[i] += CENT
    return {i: s for i, s in shares.items() if s > 0}


class _Cart:
    """What is left of each line while discounts are taken off it."""

    def __init__(self, lines: list[CartLine]) -> None:
        self.lines = lines
        self.priced = [PricedLine(ln.sku_id, ln.sku_code, ln.unit_price, ln.qty, round_amount(ln.qty * ln.unit_price),
                                  round_amount(ln.qty * ln.unit_price)) for ln in lines]
        self.applied: list[Applied] = []

    def left(self, indexes: Iterable[int]) -> dict[int, Decimal]:
        return {i: self.priced[i].amount for i in indexes if self.priced[i].amount > 0}

    def take(self, i: int, amount: Decimal, source: str, ref: int | None, kind: str, reason: str) -> Decimal:
        amount = min(round_amount(amount), self.priced[i].amount)
        if amount > 0:
            self.priced[i].amount -= amount
            self.priced[i].adjustments.append(Adjustment(source, ref, kind, amount, reason))
        return max(amount, ZERO)

    def record(self, source: str, ref: int | None, name: str, kind: str, amount: Decimal, reason: str) -> None:
        if amount > 0:
            self.applied.append(Applied(source, ref, name, kind, amount, reason))


def _apply_rule(cart: _Cart, rule: Rule, buyer: Buyer) -> None:
    scoped = [i for i, ln in enumerate(cart.lines) if rule.scope.holds(ln)]
    taken, reason = ZERO, ""
    if rule.kind == PERCENT_OFF:
        reason = f"{_pct(rule.percent)}% off ({rule.name})"
        for i in scoped:
            taken += cart.take(i, cart.priced[i].amount * rule.percent / HUNDRED, "promotion", rule.id, rule.kind,
                               reason)
    elif rule.kind == TIER_PRICE:
        if buyer.tier is None or buyer.discount_rate <= 0 or (rule.tiers and buyer.tier not in rule.tiers):
            return
        reason = f"{buyer.tier} member price: {_pct(buyer.discount_rate * HUNDRED)}% off ({rule.name})"
        for i in scoped:
            taken += cart.take(i, cart.priced[i].amount * buyer.discount_rate, "promotion", rule.id, rule.kind, reason)
    elif rule.kind == BUY_X_GET_Y:
        group = rule.buy_qty + rule.free_qty
        for i in scoped:
            free = (cart.lines[i].qty / group).to_integral_value(rounding=ROUND_FLOOR) * rule.free_qty
            if free > 0:
                why = f"buy {rule.buy_qty} get {rule.free_qty} free: {_pct(free)} free ({rule.name})"
                taken += cart.take(i, free * cart.lines[i].unit_price, "promotion", rule.id, rule.kind, why)
                reason = reason or why
    else:  # AMOUNT_OFF, SPEND_OFF: order promotions over the lines in scope
        left = cart.left(scoped)
        base = sum(left.values(), ZERO)
        if base <= 0 or base < rule.threshold:
            return
        if rule.kind == SPEND_OFF and rule.threshold > 0:
            times = int(base // rule.threshold) if rule.repeat else 1
            off = rule.amount * times
            reason = (f"spend {_money(rule.threshold)} get {_money(rule.amount)} off"
                      + (f" x{times}" if times > 1 else "") + f" ({rule.name})")
        else:
            off = rule.amount
            reason = f"{_money(rule.amount)} off ({rule.name})"
        for i, share in spread(min(round_amount(off), base), left).items():
            taken += cart.take(i, share, "promotion", rule.id, rule.kind, reason)
    cart.record("promotion", rule.id, rule.name, rule.kind, taken, reason)


def _order(rule: Rule) -> tuple[int, int, int]:
    return (0 if rule.kind in LINE_KINDS else 1, -rule.priority, rule.id)


def _run(lines: list[CartLine], rules: list[Rule], buyer: Buyer) -> _Cart:
    cart = _Cart(lines)
    for rule in sorted(rules, key=_order):
        _apply_rule(cart, rule, buyer)
    return cart


def _discount(cart: _Cart) -> Decimal:
    return sum((a.amount for a in cart.applied), ZERO)


def price(lines: list[CartLine], rules: list[Rule], *, now: datetime, buyer: Buyer = Buyer(),
          coupon: CouponRule | None = None, points: int = 0, policy: PointsPolicy = PointsPolicy()) -> Priced:
    """Price a cart by the rules in this module's docstring.

    Refusals are 409s naming the input field: a coupon whose minimum spend (or scope) the cart does
    not reach (``coupon``), more points than the balance or than the cap allows (``points``).
    """
    live = [r for r in rules if r.live(now) and any(r.scope.holds(ln) for ln in lines)]
    stackable = [r for r in live if not r.exclusive]
    cart = _run(lines, stackable, buyer)
    best = _discount(cart)
    for rule in sorted((r for r in live if r.exclusive), key=lambda r: (-r.priority, r.id)):
        alone = _run(lines, [rule], buyer)
        if _discount(alone) > best:
            cart, best = alone, _discount(alone)
    coupon_discount = _apply_coupon(cart, coupon) if coupon else ZERO
    points_used, points_discount = _apply_points(cart, points, buyer, policy) if points else (0, ZERO)
    total = sum((ln.amount for ln in cart.priced), ZERO)
    subtotal = sum((ln.list_amount for ln in cart.priced), ZERO)
    return Priced(cart.priced, cart.applied, subtotal, best, coupon_discount, points_used, points_discount, total)


def _apply_coupon(cart: _Cart, coupon: CouponRule) -> Decimal:
    left = cart.left(i for i, ln in enumerate(cart.lines) if coupon.scope.holds(ln))
    base = sum(left.values(), ZERO)
    if base <= 0 or base < coupon.min_spend:
        raise Conflict(f"coupon {coupon.code} needs a spend of {_money(coupon.min_spend)} on the goods it covers "
                       f"(there is {_money(base)})", code="coupon_not_applicable",
                       details=[{"field": "coupon", "min_spend": _money(coupon.min_spend), "spend": _money(base)}])
    taken = ZERO
    if coupon.kind == "percent":
        reason = f"coupon {coupon.code}: {_pct(coupon.value)}% off ({coupon.name})"
        for i, amount in left.items():
            taken += cart.take(i, amount * coupon.value / HUNDRED, "coupon", coupon.id, "coupon", reason)
    else:
        reason = f"coupon {coupon.code}: {_money(coupon.value)} off ({coupon.name})"
        for i, share in spread(min(coupon.value, base), left).items():
            taken += cart.take(i, share, "coupon", coupon.id, "coupon", reason)
    cart.record("coupon", coupon.id, coupon.name, "coupon", taken, reason)
    return taken


def _apply_points(cart: _Cart, points: int, buyer: Buyer, policy: PointsPolicy) -> tuple[int, Decimal]:
    if points > buyer.points_balance:
        raise Conflict(f"the member has {buyer.points_balance} points, not {points}", code="insufficient_points",
                       details=[{"field": "points", "balance": buyer.points_balance, "requested": points}])
    left = cart.left(range(len(cart.lines)))
    cap = (sum(left.values(), ZERO) * policy.cap).quantize(CENT, rounding=ROUND_DOWN)
    value = (Decimal(points) / policy.rate).quantize(CENT, rounding=ROUND_DOWN)
    if value > cap:
        allowed = int(cap * policy.rate)
        raise Conflict(f"{points} points are worth {_money(value)}; points may pay {_money(cap)} of this order "
                       f"(at most {allowed} points)", code="points_over_cap",
                       details=[{"field": "points", "requested": points, "allowed": allowed}])
    used = int((value * policy.rate).to_integral_value(rounding=ROUND_UP))  # no point is spent for less than a cent
    reason = f"{used} points: {_money(value)} off"
    taken = ZERO
    for i, share in spread(value, left).items():
        taken += cart.take(i, share, "points", None, "points", reason)
    cart.record("points", None, "points", "points", taken, reason)
    return (used if taken > 0 else 0), taken


def refund_share(net: Decimal, qty: Decimal, returned_before: Decimal, returning: Decimal) -> Decimal:
    """What returning ``returning`` of a line of ``qty`` sold for ``net`` refunds, after
    ``returned_before`` came back: the difference of the cumulative shares, so a line returned
    in parts refunds exactly its amount in all."""
    def upto(q: Decimal) -> Decimal:
        return net if q >= qty else round_amount(net * q / qty)

    return upto(returned_before + returning) - upto(returned_before)
