"""The stock ledger: every change of stock is a posted document, and nothing else changes stock.

A caller (an order, a purchase order, a work order, a stock function) posts a ``StockDocument``:
its type and id, its lines (SKU, warehouse, kind, quantity) and, per line, the origin that
caused it (an order line, a PO line). ``post_stock`` locks the stock rows it touches in one
fixed order (warehouse id, then SKU id; ``SELECT ... FOR UPDATE`` on MySQL, the write lock that
``BEGIN IMMEDIATE`` takes on SQLite), refuses the whole document if any line would make on hand,
reserved or available negative (409 ``insufficient_stock``, one detail per short line), writes
the new balances and one immutable ledger row per line with the balances after it and the unit
cost it moved at (moving the SKU's average cost when it brings a cost: inventory/costs.py), emits one
``stock.changed`` event, and returns the posting. It never calls back into the caller: a caller
that must write its own rows first does so in the same unit of work, and a refused posting rolls
the whole unit back. Concurrent postings queue on the rows they share instead of overselling,
and they cannot deadlock on each other.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import metrics
from ..context import Context
from ..db import ZERO, utcnow
from ..errors import Conflict, ValidationFailed
from ..prepared import Prepared
from ..schemas import format_quantity
from . import models as m
from .costs import cost_lines
from .events import StockChanged, StockLineChange
from .models import StockLedgerEntry, StockLevel

_levels = StockLevel.__table__
_ledger = StockLedgerEntry.__table__
_INSERT_LEDGER = Prepared(insert(_ledger))

# What each kind of line does to (on hand, reserved), per unit of its quantity. Adjustments and
# stocktake differences are signed; every other kind takes a positive quantity.
KIND_EFFECTS: dict[str, tuple[int, int]] = {
    m.RECEIPT: (1, 0), m.ISSUE: (-1, 0), m.ADJUST: (1, 0), m.TRANSFER_IN: (1, 0), m.TRANSFER_OUT: (-1, 0),
    m.RESERVE: (0, 1), m.RELEASE: (0, -1), m.SALE: (-1, -1), m.RETURN: (1, 0), m.STOCKTAKE: (1, 0),
}
SIGNED_KINDS = frozenset({m.ADJUST, m.STOCKTAKE})


@dataclass(frozen=True)
class StockLine:
    """One line of a stock document: a quantity of one SKU in one warehouse, and what caused it."""

    sku_id: int
    warehouse_id: int
    kind: str
    quantity: Decimal
    sku_code: str = ""
    origin_type: str | None = None  # the business document line that caused it: "sales_order_line"...
    origin_id: str | None = None
    # What one unit cost, for a line adding stock (a PO receipt, a production completion); None:
    # it moves at the SKU's average cost (a return with an origin: at the cost its sale went out at).
    unit_cost: Decimal | None = None


@dataclass(frozen=True)
class StockDocument:
    type: str  # sales_order, purchase_order, work_order, adjustment, transfer, stocktake...
    id: str
    lines: Sequence[StockLine]
    reason: str = ""


@dataclass
class Level:
    """A locked stock row: its id and balances."""

    id: int
    on_hand: Decimal
    reserved: Decimal


@dataclass(frozen=True)
class PostedLine:
    sku_id: int
    sku_code: str
    warehouse_id: int
    kind: str
    qty_on_hand: Decimal
    qty_reserved: Decimal
    on_hand_after: Decimal
    reserved_after: Decimal
    origin_type: str | None
    origin_id: str | None
    unit_cost: Decimal | None = None  # what one unit moved at (None: no cost known, or no goods moved)


@dataclass(frozen=True)
class Posting:
    """What a posted document did: a line per document line, in the document's order."""

    doc_type: str
    doc_id: str
    lines: list[PostedLine] = field(default_factory=list)
    created_at: Any = None
    actor: str = ""
    reason: str = ""


def _id_params(name: str, count: int, column) -> list:
    return [bindparam(f"{name}{k}", type_=column.type) for k in range(count)]


def _ids(name: str, ids: Sequence[int]) -> dict[str, int]:
    return {f"{name}{k}": value for k, value in enumerate(ids)}


# The statements of every posting, prepared once per number of rows (erp_common.prepared): lists
# of ids are one bound parameter each rather than an "expanding" IN re-rendered at every execution.
@functools.lru_cache(maxsize=32)
def _lock_levels_query(count: int) -> Prepared:
    """The stock rows of ``count`` SKUs in one warehouse, locked in SKU order."""
    return Prepared(select(_levels.c.id, _levels.c.sku_id, _levels.c.on_hand, _levels.c.reserved)
                    .where(_levels.c.warehouse_id == bindparam("warehouse_id"),
                           _levels.c.sku_id.in_(_id_params("sku", count, _levels.c.sku_id)))
                    .order_by(_levels.c.sku_id).with_for_update())


@functools.lru_cache(maxsize=32)
def _update_levels(rows: int) -> Prepared:
    """``UPDATE stock_levels SET on_hand = CASE ..., reserved = CASE ...`` for ``rows`` locked rows."""
    ids = _id_params("id", rows, _levels.c.id)
    return Prepared(update(_levels).where(_levels.c.id.in_(ids)).values(
        on_hand=case(*[(_levels.c.id == ids[k], bindparam(f"on_hand{k}", type_=_levels.c.on_hand.type))
                       for k in range(rows)]),
        reserved=case(*[(_levels.c.id == ids[k], bindparam(f"reserved{k}", type_=_levels.c.reserved.type))
                        for k in range(rows)]),
        updated_at=bindparam("now", type_=_levels.c.updated_at.type),
    ))


def lock_levels(session: Session, warehouse_id: int, sku_ids: list[int], create: bool) -> dict[int, Level]:
    """Lock the stock rows of these SKUs (in SKU id order) in one warehouse; create missing ones if asked."""
    sku_ids = sorted(set(sku_ids))
    query, params = _lock_levels_query(len(sku_ids)), {"warehouse_id": warehouse_id, **_ids("sku", sku_ids)}
    levels = {r.sku_id: Level(r.id, r.on_hand, r.reserved) for r in query.rows(session, params)}
    missing = [s for s in sku_ids if s not in levels]
    if missing and create:
        for sku_id in missing:  # already in SKU order
            try:
                with session.begin_nested():
                    session.execute(insert(_levels).values(sku_id=sku_id, warehouse_id=warehouse_id, on_hand=ZERO,
                                                           reserved=ZERO, updated_at=utcnow()))
            except IntegrityError:
                pass  # a concurrent first receipt created it: the select below waits for and locks it
        levels = {r.sku_id: Level(r.id, r.on_hand, r.reserved) for r in query.rows(session, params)}
    return levels


def _effect(line: StockLine) -> tuple[Decimal, Decimal]:
    on_hand, reserved = KIND_EFFECTS[line.kind]
    if line.kind not in SIGNED_KINDS and line.quantity <= 0:
        raise ValueError(f"a {line.kind} line takes a positive quantity, not {line.quantity}")
    if line.unit_cost is not None and line.unit_cost < 0:
        raise ValueError(f"a unit cost cannot be negative ({line.unit_cost})")
    return line.quantity * on_hand, line.quantity * reserved


def post_stock(ctx: Context, doc: StockDocument, *,
               locked: dict[tuple[int, int], Level] | None = None) -> Posting:
    """Post ``doc`` to the ledger atomically; 409 ``insufficient_stock`` if any line would go negative.

    Stock rows that do not exist yet are created for lines that add stock (receipts, returns,
    transfers in, counts); a line that takes stock from a SKU without a row has nothing available.
    ``locked`` are rows the inventory already locked for this document, by (warehouse, SKU).
    """
    effects = [_effect(line) for line in doc.lines]
    order = sorted(range(len(doc.lines)), key=lambda i: (doc.lines[i].warehouse_id, doc.lines[i].sku_id))
    levels: dict[tuple[int, int], Level] = dict(locked or {})
    by_warehouse: dict[int, tuple[list[int], bool]] = {}
    for i in order:
        line = doc.lines[i]
        if (line.warehouse_id, line.sku_id) in levels:
            continue
        skus, create = by_warehouse.get(line.warehouse_id, ([], False))
        skus.append(line.sku_id)
        by_warehouse[line.warehouse_id] = (skus, create or effects[i][0] > 0 or line.kind == m.STOCKTAKE)
    for warehouse_id in sorted(by_warehouse):  # warehouse order, then SKU order
        skus, create = by_warehouse[warehouse_id]
        for sku_id, level in lock_levels(ctx.session, warehouse_id, skus, create).items():
            levels[(warehouse_id, sku_id)] = level

    posted: list[PostedLine | None] = [None] * len(doc.lines)
    short: list[dict[str, Any]] = []
    changed: dict[int, Level] = {}
    for i in order:  # lines on one row apply one after the other, in lock order
        line, (d_on_hand, d_reserved) = doc.lines[i], effects[i]
        level = levels.get((line.warehouse_id, line.sku_id)) or Level(0, ZERO, ZERO)
        on_hand, reserved = level.on_hand + d_on_hand, level.reserved + d_reserved
        if level.id == 0 or on_hand < 0 or reserved < 0 or on_hand - reserved < 0:
            short.append({"line": i, "sku_id": line.sku_id, "sku": line.sku_code, "warehouse_id": line.warehouse_id,
                          "available": format_quantity(level.on_hand - level.reserved),
                          "requested": format_quantity(max(-d_on_hand, d_reserved, ZERO))})
            continue
        level.on_hand, level.reserved = on_hand, reserved
        changed[level.id] = level
        posted[i] = PostedLine(line.sku_id, line.sku_code, line.warehouse_id, line.kind, d_on_hand, d_reserved,
                               on_hand, reserved, line.origin_type, line.origin_id)
    if short:
        short.sort(key=lambda d: d["line"])
        names = ", ".join(f"{s['sku'] or s['sku_id']} (available {s['available']})" for s in short)
        metrics.STOCK_REFUSALS.inc()
        raise Conflict(f"not enough stock: {names}", code="insufficient_stock", details=short)
    if not any(posted):
        return Posting(doc.type, doc.id, [], ctx.now, ctx.actor, doc.reason)
    for i, unit_cost in cost_lines(ctx, doc, posted).items():
        posted[i] = replace(posted[i], unit_cost=unit_cost)
    lines = [p for p in posted if p is not None]
    ids = sorted(changed)  # one UPDATE for every row (the rows are locked: absolute values are safe)
    params: dict[str, Any] = {"now": ctx.now}
    for k, level_id in enumerate(ids):
        level = changed[level_id]
        params[f"id{k}"], params[f"on_hand{k}"], params[f"reserved{k}"] = level_id, level.on_hand, level.reserved
    _update_levels(len(ids)).run(ctx.session, params)
    level_of = {key: level.id for key, level in levels.items()}
    _INSERT_LEDGER.run_many(ctx.session, [
        {"stock_level_id": level_of[(p.warehouse_id, p.sku_id)], "sku_id": p.sku_id, "warehouse_id": p.warehouse_id,
         "type": p.kind, "qty_on_hand": p.qty_on_hand, "qty_reserved": p.qty_reserved,
         "on_hand_after": p.on_hand_after, "reserved_after": p.reserved_after, "doc_type": doc.type,
         "doc_id": doc.id, "origin_type": p.origin_type, "origin_id": p.origin_id, "unit_cost": p.unit_cost,
         "reason": doc.reason[:255],
         "actor": ctx.actor, "created_at": ctx.now}
        for p in lines])
    ctx.emit(StockChanged(doc_type=doc.type, doc_id=doc.id, reason=doc.reason, by=ctx.actor, lines=[
        StockLineChange(sku_id=p.sku_id, sku_code=p.sku_code, warehouse_id=p.warehouse_id, kind=p.kind,
                        qty_on_hand=p.qty_on_hand, qty_reserved=p.qty_reserved, on_hand_after=p.on_hand_after,
                        reserved_after=p.reserved_after, origin_type=p.origin_type, origin_id=p.origin_id)
        for p in lines]))
    return Posting(doc.type, doc.id, lines, ctx.now, ctx.actor, doc.reason)


def no_repeats(sku_ids: list[int]) -> None:
    """422 naming the line of a SKU listed twice in one document."""
    seen: set[int] = set()
    for i, sku_id in enumerate(sku_ids):
        if sku_id in seen:
            raise ValidationFailed("this SKU is listed twice",
                                   details=[{"line": i, "message": "this SKU is listed twice"}])
        seen.add(sku_id)
