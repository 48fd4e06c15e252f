"""Moving weighted-average cost, kept by the stock ledger (as Tryton's stock layer keeps the cost price).

``post_stock`` calls ``cost_lines`` for the lines of a posting that change on hand, in the same
transaction, after the stock rows are locked and before they are written:

* a line that adds stock with a unit cost (a PO receipt at its cost, a production completion at
  its rolled-up cost, a return at the cost its sale went out at) moves the SKU's average:
  ``new = (on_hand * average + qty * cost) / (on_hand + qty)``, rounded to 4 places, half up;
  the change is a row of ``sku_cost_history``;
* every other line that changes on hand (a sale, an issue, a transfer, an adjustment without a
  cost) moves at the current average, which it leaves as it is;
* a ``RETURN`` line with an origin and no cost of its own takes the unit cost of the ``SALE``
  rows with that origin (their quantity-weighted average when it shipped in several parts).

The average is per SKU over every warehouse, so a transfer does not change it. ``sku_costs`` rows
are locked (``FOR UPDATE``) in SKU order after the stock rows, so concurrent receipts of one SKU
queue on it and never deadlock. A SKU gets its row with its first costed receipt: the stock it
already had (received without a cost) is taken to have cost what that receipt cost. Until then
its lines carry no unit cost. Reservations and releases move no goods: no cost is read for them,
so placing an order costs nothing more.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..context import Context
from ..db import ZERO
from ..schemas import UNIT_PLACES
from . import models as m
from .models import SkuCost, SkuCostChange, StockLedgerEntry, StockLevel

if TYPE_CHECKING:
    from .ledger import PostedLine, StockDocument

_costs = SkuCost.__table__
_history = SkuCostChange.__table__
_ledger = StockLedgerEntry.__table__
_UPDATE_COST = (update(_costs).where(_costs.c.sku_id == bindparam("b_sku_id"))
                .values(unit_cost=bindparam("b_unit_cost"), on_hand=bindparam("b_on_hand"),
                        updated_at=bindparam("b_now")))


def round_unit_cost(value: Decimal) -> Decimal:
    """A unit cost to 4 places, half up (0.00005 -> 0.0001): the one rounding rule for unit costs."""
    return value.quantize(UNIT_PLACES, rounding=ROUND_HALF_UP)


@dataclass
class _Average:
    unit_cost: Decimal | None  # None: a row this posting created, whose first cost is still to come
    on_hand: Decimal
    changed: bool = False


def _lock(session: Session, sku_ids: list[int]) -> dict[int, _Average]:
    rows = session.connection().execute(
        select(_costs.c.sku_id, _costs.c.unit_cost, _costs.c.on_hand)
        .where(_costs.c.sku_id.in_(sku_ids)).order_by(_costs.c.sku_id).with_for_update())
    return {r.sku_id: _Average(r.unit_cost, r.on_hand) for r in rows}


def _create(session: Session, sku_ids: list[int], now: datetime) -> set[int]:
    """Create the cost rows of SKUs receiving their first cost, on hand = what they have now; the ids made."""
    on_hand = {r.sku_id: r.total for r in session.execute(
        select(StockLevel.sku_id, func.sum(StockLevel.on_hand).label("total"))
        .where(StockLevel.sku_id.in_(sku_ids)).group_by(StockLevel.sku_id))}
    made = set()
    for sku_id in sku_ids:
        try:
            with session.begin_nested():
                session.execute(insert(_costs).values(
                    sku_id=sku_id, unit_cost=ZERO, updated_at=now,
                    on_hand=Decimal(on_hand.get(sku_id) or 0).quantize(UNIT_PLACES)))
            made.add(sku_id)
        except IntegrityError:
            pass  # a concurrent first receipt created it: the lock below waits for it and reads it
    return made


def _sale_costs(session: Session, origins: set[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
    """The unit cost each origin's ``SALE`` rows went out at (quantity-weighted when several)."""
    qty: dict[tuple[str, str], Decimal] = {}
    value: dict[tuple[str, str], Decimal] = {}
    rows = session.execute(
        select(_ledger.c.origin_type, _ledger.c.origin_id, _ledger.c.qty_on_hand, _ledger.c.unit_cost)
        .where(_ledger.c.type == m.SALE, _ledger.c.origin_id.in_({o[1] for o in origins}),
               _ledger.c.unit_cost.is_not(None)))
    for row in rows:
        key = (row.origin_type, row.origin_id)
        if key in origins:
            qty[key] = qty.get(key, ZERO) - row.qty_on_hand
            value[key] = value.get(key, ZERO) - row.qty_on_hand * row.unit_cost
    return {k: round_unit_cost(value[k] / qty[k]) for k in qty if qty[k] > 0}


def cost_lines(ctx: Context, doc: StockDocument, posted: Sequence[PostedLine | None]) -> dict[int, Decimal | None]:
    """The unit cost of each posted line that changes on hand (by index), updating the averages it moves."""
    moving = [i for i, p in enumerate(posted) if p is not None and p.qty_on_hand != 0]
    if not moving:
        return {}
    session = ctx.session
    incoming: dict[int, Decimal | None] = {i: doc.lines[i].unit_cost for i in moving}
    returns = {i: (doc.lines[i].origin_type, doc.lines[i].origin_id) for i in moving
               if doc.lines[i].kind == m.RETURN and incoming[i] is None and doc.lines[i].origin_id}
    if returns:
        went_out = _sale_costs(session, set(returns.values()))
        for i, origin in returns.items():
            incoming[i] = went_out.get(origin)
    costed = sorted({posted[i].sku_id for i in moving if incoming[i] is not None and posted[i].qty_on_hand > 0})
    averages = _lock(session, sorted({posted[i].sku_id for i in moving}))
    made: set[int] = set()
    if missing := [s for s in costed if s not in averages]:
        made = _create(session, missing, ctx.now)
        averages.update(_lock(session, missing))
    for sku_id in made:
        averages[sku_id].unit_cost = None
    out: dict[int, Decimal | None] = {}
    history = []
    for i in moving:  # in the document's order: a later line sees the average an earlier one made
        line, qty = posted[i], posted[i].qty_on_hand
        average = averages.get(line.sku_id)
        if average is None:  # a SKU without a cost yet, and this line brings none
            out[i] = None
            continue
        cost_in = incoming[i]
        if qty > 0 and cost_in is not None:
            before, on_hand = average.unit_cost, average.on_hand
            after = cost_in if before is None or on_hand <= 0 else round_unit_cost(
                (on_hand * before + qty * cost_in) / (on_hand + qty))
            history.append({"sku_id": line.sku_id, "unit_cost_before": before, "on_hand_before": on_hand,
                            "qty_in": qty, "cost_in": cost_in, "unit_cost": after, "doc_type": doc.type,
                            "doc_id": doc.id, "created_at": ctx.now})
            average.unit_cost, out[i] = after, cost_in
        else:
            out[i] = average.unit_cost
        average.on_hand += qty
        average.changed = True
    changed = [{"b_sku_id": sku_id, "b_unit_cost": a.unit_cost, "b_on_hand": a.on_hand, "b_now": ctx.now}
               for sku_id, a in sorted(averages.items()) if a.changed]
    if changed:
        session.connection().execute(_UPDATE_COST, changed)
    if history:
        session.connection().execute(insert(_history), history)
    return out


# --- reading costs (for the costing domain, through inventory.api) --------------------------

@dataclass(frozen=True)
class SkuCostInfo:
    sku_id: int
    unit_cost: Decimal
    on_hand: Decimal
    updated_at: datetime


@dataclass(frozen=True)
class CostChange:
    unit_cost_before: Decimal | None
    on_hand_before: Decimal
    qty_in: Decimal
    cost_in: Decimal
    unit_cost: Decimal
    doc_type: str
    doc_id: str
    created_at: datetime


@dataclass(frozen=True)
class StockValue:
    """What one SKU had in one warehouse at a time, and its average unit cost then (None: no cost yet)."""

    sku_id: int
    warehouse_id: int
    on_hand: Decimal
    unit_cost: Decimal | None


@dataclass(frozen=True)
class GoodsMove:
    """A ledger row that moved goods: signed quantity on hand, the unit cost, the origin, when."""

    sku_id: int
    warehouse_id: int
    kind: str
    qty_on_hand: Decimal
    unit_cost: Decimal | None
    origin_type: str | None
    origin_id: str | None
    created_at: datetime


def current_cost(session: Session, sku_id: int) -> SkuCostInfo | None:
    """A SKU's average unit cost now, and the quantity it is over; None before its first costed receipt."""
    row = session.get(SkuCost, sku_id, populate_existing=True)
    return SkuCostInfo(row.sku_id, row.unit_cost, row.on_hand, row.updated_at) if row else None


def cost_history(session: Session, sku_id: int, limit: int = 100) -> list[CostChange]:
    """The latest changes of a SKU's average cost, newest first."""
    rows = session.scalars(select(SkuCostChange).where(SkuCostChange.sku_id == sku_id)
                           .order_by(SkuCostChange.id.desc()).limit(limit))
    return [CostChange(r.unit_cost_before, r.on_hand_before, r.qty_in, r.cost_in, r.unit_cost, r.doc_type, r.doc_id,
                       r.created_at) for r in rows]


def stock_values(session: Session, as_of: datetime | None = None, warehouse_id: int | None = None) -> list[StockValue]:
    """Each SKU x warehouse with stock on hand at ``as_of`` (default: now), from the ledger, with the
    SKU's average cost at that time (the last change of it made by then)."""
    last = select(func.max(_ledger.c.id).label("id"))
    if as_of is not None:
        last = last.where(_ledger.c.created_at <= as_of)
    if warehouse_id is not None:
        last = last.where(_ledger.c.warehouse_id == warehouse_id)
    last = last.group_by(_ledger.c.sku_id, _ledger.c.warehouse_id).subquery()
    rows = session.execute(select(_ledger.c.sku_id, _ledger.c.warehouse_id, _ledger.c.on_hand_after)
                           .join(last, last.c.id == _ledger.c.id).where(_ledger.c.on_hand_after != 0)).all()
    changes = select(func.max(_history.c.id).label("id"))
    if as_of is not None:
        changes = changes.where(_history.c.created_at <= as_of)
    changes = changes.group_by(_history.c.sku_id).subquery()
    costs = dict(session.execute(select(_history.c.sku_id, _history.c.unit_cost)
                                 .join(changes, changes.c.id == _history.c.id)).all())
    return [StockValue(r.sku_id, r.warehouse_id, r.on_hand_after, costs.get(r.sku_id))
            for r in sorted(rows, key=lambda r: (r.sku_id, r.warehouse_id))]


def goods_moves(session: Session, kinds: Sequence[str], date_from: datetime | None = None,
                date_to: datetime | None = None, origin_type: str | None = None) -> list[GoodsMove]:
    """The ledger rows of these kinds made at or after ``date_from`` and before ``date_to``."""
    query = select(_ledger.c.sku_id, _ledger.c.warehouse_id, _ledger.c.type, _ledger.c.qty_on_hand,
                   _ledger.c.unit_cost, _ledger.c.origin_type, _ledger.c.origin_id, _ledger.c.created_at
                   ).where(_ledger.c.type.in_(list(kinds)))
    if date_from is not None:
        query = query.where(_ledger.c.created_at >= date_from)
    if date_to is not None:
        query = query.where(_ledger.c.created_at < date_to)
    if origin_type is not None:
        query = query.where(_ledger.c.origin_type == origin_type)
    return [GoodsMove(*row) for row in session.execute(query.order_by(_ledger.c.id))]
