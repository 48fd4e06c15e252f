"""Inventory services: warehouses, stock movements through the ledger, queries and the stock check.

Every change of stock goes through ``post_moves``: it locks the stock rows it touches in one
fixed order (warehouse id, then SKU id; ``SELECT ... FOR UPDATE`` on MySQL, the database write
lock that ``BEGIN IMMEDIATE`` takes on SQLite), refuses any move that would make on hand,
reserved or available negative (409 naming each SKU with its available quantity), writes the new
balances and one immutable ledger row per move with the balances after it. So concurrent
movements queue on the rows they share instead of overselling, and they cannot deadlock on
each other. Other domains (sales) reserve, release, ship and take back stock through it too.
"""
from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, Update, and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..catalog.models import Sku
from ..context import Context
from ..db import ZERO, utcnow
from ..errors import Conflict, NotFound, ValidationFailed
from ..paging import paginate, within
from ..schemas import Page, format_quantity
from . import models as m
from .models import SkuStockSetting, StockLedgerEntry, StockLevel, Warehouse
from .schemas import (
    LedgerEntryOut,
    StockAdjustIn,
    StockCheckOut,
    StockCountIn,
    StockLedgerIn,
    StockMismatch,
    StockMovementOut,
    StockOut,
    StockQueryIn,
    StockThresholdIn,
    StockTransferIn,
    ThresholdOut,
    WarehouseCreateIn,
    WarehouseListIn,
    WarehouseOut,
)

_levels = StockLevel.__table__
_ledger = StockLedgerEntry.__table__
_skus = Sku.__table__

# The statements of the order path, built once: SQLAlchemy then neither rebuilds them nor
# recomputes their cache key on every call (the values go in as parameters). Lists of ids are
# one bound parameter each (``id0``, ``id1``, ...), one statement per length, rather than an
# "expanding" IN that SQLAlchemy re-renders into new SQL at every execution.
_SKU_COLUMNS = (_skus.c.id, _skus.c.code, _skus.c.price, _skus.c.status)
_SKUS_BY_CODE = select(*_SKU_COLUMNS).where(_skus.c.code.in_(bindparam("codes", expanding=True)))
_INSERT_LEDGER = insert(_ledger)


def _id_params(name: str, count: int, column) -> list:
    return [bindparam(f"{name}{k}", type_=column.type) for k in range(count)]


def _ids(name: str, ids: Sequence[int]) -> dict[str, int]:
    return {f"{name}{k}": value for k, value in enumerate(ids)}


@functools.lru_cache(maxsize=32)
def _skus_by_id(count: int) -> Select:
    return select(*_SKU_COLUMNS).where(_skus.c.id.in_(_id_params("sku", count, _skus.c.id)))


@functools.lru_cache(maxsize=32)
def _lock_levels_query(count: int) -> Select:
    """The stock rows of ``count`` SKUs in one warehouse, locked in SKU order."""
    return (select(_levels.c.id, _levels.c.sku_id, _levels.c.on_hand, _levels.c.reserved)
            .where(_levels.c.warehouse_id == bindparam("warehouse_id"),
                   _levels.c.sku_id.in_(_id_params("sku", count, _levels.c.sku_id)))
            .order_by(_levels.c.sku_id).with_for_update())


@functools.lru_cache(maxsize=32)
def _lock_skus_with_stock_query(count: int) -> Select:
    """``count`` SKUs with their stock row in one warehouse (if any), SKU and stock rows locked."""
    stock = _skus.outerjoin(_levels, and_(_levels.c.sku_id == _skus.c.id,
                                          _levels.c.warehouse_id == bindparam("warehouse_id")))
    return (select(*_SKU_COLUMNS, _levels.c.id.label("level_id"), _levels.c.on_hand, _levels.c.reserved)
            .select_from(stock).where(_skus.c.id.in_(_id_params("sku", count, _skus.c.id)))
            .order_by(_skus.c.id).with_for_update())


@functools.lru_cache(maxsize=32)
def _update_levels(rows: int) -> Update:
    """``UPDATE stock_levels SET on_hand = CASE ..., reserved = CASE ...`` for ``rows`` locked rows,
    one statement per row count (parameters ``id<k>``, ``on_hand<k>``, ``reserved<k>``, ``now``)."""
    ids = _id_params("id", rows, _levels.c.id)
    return update(_levels).where(_levels.c.id.in_(ids)).values(
        on_hand=case(*[(_levels.c.id == ids[k], bindparam(f"on_hand{k}", type_=_levels.c.on_hand.type))
                       for k in range(rows)]),
        reserved=case(*[(_levels.c.id == ids[k], bindparam(f"reserved{k}", type_=_levels.c.reserved.type))
                        for k in range(rows)]),
        updated_at=bindparam("now", type_=_levels.c.updated_at.type),
    )


# --- warehouses --------------------------------------------------------------------------

def create_warehouse(ctx: Context, data: WarehouseCreateIn) -> WarehouseOut:
    """Create a warehouse; ``is_default`` makes it the one orders use when they name none."""
    if ctx.session.scalar(select(Warehouse.id).where(Warehouse.code == data.code)) is not None:
        raise Conflict(f"the warehouse code {data.code!r} is taken", code="warehouse_code_taken",
                       details=[{"field": "code", "message": "already taken"}])
    if data.is_default:
        ctx.session.execute(update(Warehouse).where(Warehouse.is_default.is_(True)).values(is_default=False))
        ctx.on_commit(forget_default_warehouse)
    warehouse = Warehouse(code=data.code, name=data.name, address=data.address, is_default=data.is_default,
                          is_active=True, created_at=ctx.now)
    ctx.session.add(warehouse)
    ctx.session.flush()
    ctx.emit("warehouse.created", {"warehouse_id": warehouse.id, "code": warehouse.code, "by": ctx.actor})
    return WarehouseOut.model_validate(warehouse)


def list_warehouses(ctx: Context, data: WarehouseListIn) -> Page[WarehouseOut]:
    """Warehouses, optionally searched by code or name."""
    query = select(Warehouse)
    if data.q:
        like = f"%{data.q}%"
        query = query.where(or_(Warehouse.code.like(like), Warehouse.name.like(like)))
    return paginate(ctx.session, query, data, WarehouseOut.model_validate, Warehouse.id)


# The default warehouse changes rarely and is read by every order that names none: each process
# keeps it for DEFAULT_WAREHOUSE_TTL seconds (a change made in another process shows within that).
DEFAULT_WAREHOUSE_TTL = 30.0
_default_warehouse: tuple[int, float] | None = None


def forget_default_warehouse() -> None:
    global _default_warehouse
    _default_warehouse = None


def resolve_warehouse(session: Session, warehouse_id: int | None, field: str = "warehouse_id") -> int:
    """The id of the named active warehouse, or of the default one when none is named."""
    global _default_warehouse
    if warehouse_id is None:
        cached = _default_warehouse
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        row = session.execute(select(Warehouse.id).where(Warehouse.is_default.is_(True),
                                                         Warehouse.is_active.is_(True))).first()
        if row is None:
            raise Conflict("there is no default warehouse: name one", code="no_default_warehouse",
                           details=[{"field": field, "message": "required: there is no default warehouse"}])
        _default_warehouse = (row.id, time.monotonic() + DEFAULT_WAREHOUSE_TTL)
        return row.id
    row = session.execute(select(Warehouse.id, Warehouse.is_active).where(Warehouse.id == warehouse_id)).first()
    if row is None:
        raise NotFound(f"warehouse {warehouse_id} does not exist",
                       details=[{"field": field, "message": "no such warehouse"}])
    if not row.is_active:
        raise Conflict(f"warehouse {warehouse_id} is not active", code="warehouse_inactive",
                       details=[{"field": field, "message": "not active"}])
    return row.id


# --- SKUs as inventory and sales name them -----------------------------------------------

@dataclass(frozen=True)
class SkuRow:
    id: int
    code: str
    price: Decimal
    status: str


def _codes_to_ids(session: Session, refs: Sequence[int | str]) -> dict[str, int]:
    codes = sorted({r for r in refs if isinstance(r, str)})
    return {row.code: row.id for row in session.execute(_SKUS_BY_CODE, {"codes": codes})} if codes else {}


def _unknown_skus(refs: Sequence[int | str], fields: Sequence[str], found: dict) -> NotFound | None:
    missing = [{"field": f, "message": f"no SKU {r!r}"} for r, f in zip(refs, fields, strict=True) if r not in found]
    if not missing:
        return None
    return NotFound(f"unknown SKU: {', '.join(d['field'] for d in missing)}", code="unknown_sku", details=missing)


def resolve_skus(session: Session, refs: Sequence[int | str], fields: Sequence[str]) -> list[SkuRow]:
    """The SKUs named by id (int) or code (str), in the order given; 404 naming every unknown one."""
    ids = sorted({r for r in refs if isinstance(r, int)})
    codes = sorted({r for r in refs if isinstance(r, str)})
    rows = session.execute(_SKUS_BY_CODE, {"codes": codes}).all() if codes else []
    if ids:
        rows += session.execute(_skus_by_id(len(ids)), _ids("sku", ids)).all()
    found: dict[int | str, SkuRow] = {}
    for row in rows:
        found[row.id] = found[row.code] = SkuRow(*row)
    error = _unknown_skus(refs, fields, found)
    if error:
        raise error
    return [found[r] for r in refs]


def lock_skus_with_stock(session: Session, warehouse_id: int, refs: Sequence[int | str],
                         fields: Sequence[str]) -> tuple[list[SkuRow], dict[tuple[int, int], Level]]:
    """The SKUs named by id or code, in the order given, read together with their stock rows in
    ``warehouse_id``, both locked (SKU id order, so the lock order of ``post_moves``), in one
    round trip; 404 naming every unknown SKU. The levels go to ``post_moves(..., locked=...)``.

    Reading the price and status under the lock means an order is priced with what is current
    when its stock is taken. SKUs named by code are looked up first (one plain read more).
    """
    ids = sorted({r for r in refs if isinstance(r, int)} | set(_codes_to_ids(session, refs).values()))
    found: dict[int | str, SkuRow] = {}
    levels: dict[tuple[int, int], Level] = {}
    if ids:
        params = {"warehouse_id": warehouse_id, **_ids("sku", ids)}
        # A Core statement on the session's connection: the same transaction, without the ORM's
        # result handling (~70 us a SELECT here).
        for row in session.connection().execute(_lock_skus_with_stock_query(len(ids)), params):
            found[row.id] = found[row.code] = SkuRow(row.id, row.code, row.price, row.status)
            if row.level_id is not None:
                levels[(warehouse_id, row.id)] = Level(row.level_id, row.on_hand, row.reserved)
    error = _unknown_skus(refs, fields, found)
    if error:
        raise error
    return [found[r] for r in refs], levels


def sku_ref(value: str) -> int | str:
    """A SKU named in a query string: digits are an id, anything else a code."""
    return int(value) if value.isdigit() else value


# --- moving stock ------------------------------------------------------------------------

@dataclass(frozen=True)
class Move:
    """One change of one stock level: signed deltas of on hand and reserved."""

    sku_id: int
    warehouse_id: int
    type: str
    on_hand: Decimal = ZERO
    reserved: Decimal = ZERO
    sku_code: str = ""
    reason: str = ""


@dataclass
class Level:
    """A locked stock row: its id and balances (``post_moves`` updates them as it applies moves)."""

    id: int
    on_hand: Decimal
    reserved: Decimal


def _lock_levels(session: Session, warehouse_id: int, sku_ids: list[int], create: bool) -> dict[int, Level]:
    """Lock the stock rows of these SKUs in one warehouse (SKU id order); create missing ones if asked."""
    query, params = _lock_levels_query(len(sku_ids)), {"warehouse_id": warehouse_id, **_ids("sku", sku_ids)}
    levels = {r.sku_id: Level(r.id, r.on_hand, r.reserved) for r in session.connection().execute(query, params)}
    missing = [s for s in sku_ids if s not in levels]
    if missing and create:
        for sku_id in missing:  # already in SKU order
            try:
                with session.begin_nested():
                    session.execute(insert(_levels).values(sku_id=sku_id, warehouse_id=warehouse_id, on_hand=ZERO,
                                                           reserved=ZERO, updated_at=utcnow()))
            except IntegrityError:
                pass  # a concurrent first receipt created it: the select below waits for and locks it
        levels = {r.sku_id: Level(r.id, r.on_hand, r.reserved) for r in session.connection().execute(query, params)}
    return levels


def post_moves(ctx: Context, moves: Iterable[Move], doc_type: str, doc_id: str | Callable[[], str], *,
               create: bool = False, locked: dict[tuple[int, int], Level] | None = None) -> list[dict[str, Any]]:
    """Apply moves atomically and write their ledger rows; 409 if any would go negative.

    ``create`` makes stock rows that do not exist yet (receipts, transfers in, counts); without
    it a SKU with no stock row simply has nothing available. ``doc_id`` may be a callable: it is
    called once the stock is locked and known to suffice (a new order inserts itself there, so a
    refused order writes nothing). ``locked`` is what ``lock_skus_with_stock`` read and locked
    for these moves, by (warehouse id, SKU id): those rows are not locked again.
    """
    moves = sorted(moves, key=lambda mv: (mv.warehouse_id, mv.sku_id))
    if locked is not None:
        levels = locked
    else:
        by_warehouse: dict[int, list[int]] = {}
        for mv in moves:
            skus = by_warehouse.setdefault(mv.warehouse_id, [])
            if not skus or skus[-1] != mv.sku_id:
                skus.append(mv.sku_id)
        levels = {}
        for warehouse_id, sku_ids in by_warehouse.items():  # warehouse order, then SKU order
            for sku_id, level in _lock_levels(ctx.session, warehouse_id, sku_ids, create).items():
                levels[(warehouse_id, sku_id)] = level
    now, actor = ctx.now, ctx.actor
    entries: list[dict[str, Any]] = []
    short: list[dict[str, Any]] = []
    changed: dict[int, Level] = {}
    for mv in moves:
        level = levels.get((mv.warehouse_id, mv.sku_id))
        if level is None:
            level = Level(0, ZERO, ZERO)
        on_hand, reserved = level.on_hand + mv.on_hand, level.reserved + mv.reserved
        if on_hand < 0 or reserved < 0 or on_hand - reserved < 0 or level.id == 0:
            wanted = max(-mv.on_hand, mv.reserved, ZERO)
            short.append({"sku_id": mv.sku_id, "sku": mv.sku_code, "warehouse_id": mv.warehouse_id,
                          "available": format_quantity(level.on_hand - level.reserved),
                          "requested": format_quantity(wanted)})
            continue
        level.on_hand, level.reserved = on_hand, reserved
        changed[level.id] = level
        entries.append({"stock_level_id": level.id, "sku_id": mv.sku_id, "warehouse_id": mv.warehouse_id,
                        "type": mv.type, "qty_on_hand": mv.on_hand, "qty_reserved": mv.reserved,
                        "on_hand_after": on_hand, "reserved_after": reserved, "doc_type": doc_type,
                        "reason": mv.reason, "actor": actor, "created_at": now})
    if short:
        names = ", ".join(f"{s['sku'] or s['sku_id']} (available {s['available']})" for s in short)
        raise Conflict(f"not enough stock: {names}", code="insufficient_stock", details=short)
    doc = doc_id() if callable(doc_id) else doc_id
    for entry in entries:
        entry["doc_id"] = doc
    if changed:  # one UPDATE for every row (the rows are locked: absolute values are safe)
        ids = sorted(changed)
        params: dict[str, Any] = {"now": now}
        for k, level_id in enumerate(ids):
            level = changed[level_id]
            params[f"id{k}"], params[f"on_hand{k}"], params[f"reserved{k}"] = level_id, level.on_hand, level.reserved
        ctx.session.execute(_update_levels(len(ids)), params)
        ctx.session.execute(_INSERT_LEDGER, entries)
    return entries


# --- the stock functions -----------------------------------------------------------------

def _movement(ctx: Context, doc_type: str, doc_id: str, entries: list[dict[str, Any]]) -> StockMovementOut:
    keys = {(e["warehouse_id"], e["sku_id"]) for e in entries}
    stock = _stock_rows(ctx.session, keys)
    ctx.emit("stock.changed", {"doc_type": doc_type, "doc_id": doc_id, "by": ctx.actor,
                               "moves": [{"sku_id": e["sku_id"], "warehouse_id": e["warehouse_id"], "type": e["type"],
                                          "qty_on_hand": format_quantity(e["qty_on_hand"])} for e in entries]})
    return StockMovementOut(doc_type=doc_type, doc_id=doc_id,
                            entries=[LedgerEntryOut(id=None, **e) for e in entries], stock=stock)


def _doc_id(ctx: Context, prefix: str) -> str:
    return f"{prefix}-{ctx.now:%Y%m%d%H%M%S}-{ctx.request_id[:8]}"


def adjust_stock(ctx: Context, data: StockAdjustIn) -> StockMovementOut:
    """Put stock in or take it out of a warehouse, with a reason (ledger type adjust, receipt or issue).

    Taking out more than is available (on hand minus reserved) is refused with 409.
    """
    warehouse_id = resolve_warehouse(ctx.session, data.warehouse_id)
    (sku,) = resolve_skus(ctx.session, [data.sku], ["sku"])
    sign = Decimal(1) if data.direction == "in" else Decimal(-1)
    move = Move(sku.id, warehouse_id, data.type, on_hand=sign * data.quantity, sku_code=sku.code, reason=data.reason)
    doc_id = _doc_id(ctx, "ADJ")
    entries = post_moves(ctx, [move], "adjustment", doc_id, create=data.direction == "in")
    return _movement(ctx, "adjustment", doc_id, entries)


def transfer_stock(ctx: Context, data: StockTransferIn) -> StockMovementOut:
    """Move stock between two warehouses, all lines or none."""
    if data.from_warehouse_id == data.to_warehouse_id:
        raise ValidationFailed.field("to_warehouse_id", "must differ from from_warehouse_id")
    source = resolve_warehouse(ctx.session, data.from_warehouse_id, "from_warehouse_id")
    target = resolve_warehouse(ctx.session, data.to_warehouse_id, "to_warehouse_id")
    skus = resolve_skus(ctx.session, [ln.sku for ln in data.lines], [f"lines[{i}].sku" for i in range(len(data.lines))])
    _no_repeats([s.id for s in skus], "lines")
    moves = []
    for sku, line in zip(skus, data.lines, strict=True):
        moves.append(Move(sku.id, source, m.TRANSFER_OUT, on_hand=-line.quantity, sku_code=sku.code,
                          reason=data.reason))
        moves.append(Move(sku.id, target, m.TRANSFER_IN, on_hand=line.quantity, sku_code=sku.code,
                          reason=data.reason))
    doc_id = _doc_id(ctx, "TRF")
    entries = post_moves(ctx, moves, "transfer", doc_id, create=True)
    return _movement(ctx, "transfer", doc_id, entries)


def count_stock(ctx: Context, data: StockCountIn) -> StockMovementOut:
    """Record a stocktake: the counted quantities; the differences are posted as stocktake rows.

    A count below what is reserved for orders is refused (409): cancel or ship those first.
    """
    warehouse_id = resolve_warehouse(ctx.session, data.warehouse_id)
    skus = resolve_skus(ctx.session, [ln.sku for ln in data.lines], [f"lines[{i}].sku" for i in range(len(data.lines))])
    _no_repeats([s.id for s in skus], "lines")
    counted = {sku.id: (sku, line.counted) for sku, line in zip(skus, data.lines, strict=True)}
    levels = _lock_levels(ctx.session, warehouse_id, sorted(counted), create=True)
    moves = []
    for sku_id in sorted(counted):
        sku, quantity = counted[sku_id]
        diff = quantity - levels[sku_id].on_hand
        if diff != 0:
            moves.append(Move(sku_id, warehouse_id, m.STOCKTAKE, on_hand=diff, sku_code=sku.code, reason=data.reason))
    doc_id = _doc_id(ctx, "CNT")
    entries = post_moves(ctx, moves, "stocktake", doc_id) if moves else []
    result = _movement(ctx, "stocktake", doc_id, entries)
    if not entries:
        result.stock = _stock_rows(ctx.session, {(warehouse_id, s) for s in counted})
    return result


def set_threshold(ctx: Context, data: StockThresholdIn) -> ThresholdOut:
    """Set a SKU's low-stock threshold, for every warehouse or (with ``warehouse_id``) for one."""
    (sku,) = resolve_skus(ctx.session, [data.sku], ["sku"])
    if data.warehouse_id is None:
        setting = ctx.session.get(SkuStockSetting, sku.id)
        if setting is None:
            ctx.session.add(SkuStockSetting(sku_id=sku.id, low_stock_threshold=data.threshold, updated_at=ctx.now))
        else:
            setting.low_stock_threshold = data.threshold
            setting.updated_at = ctx.now
        ctx.session.flush()
        return ThresholdOut(sku_id=sku.id, sku_code=sku.code, warehouse_id=None, low_stock_threshold=data.threshold)
    warehouse_id = resolve_warehouse(ctx.session, data.warehouse_id)
    level = _lock_levels(ctx.session, warehouse_id, [sku.id], create=True)[sku.id]
    ctx.session.execute(update(_levels).where(_levels.c.id == level.id).values(low_stock_threshold=data.threshold))
    return ThresholdOut(sku_id=sku.id, sku_code=sku.code, warehouse_id=warehouse_id, low_stock_threshold=data.threshold)


def _no_repeats(sku_ids: list[int], field: str) -> None:
    seen: set[int] = set()
    for i, sku_id in enumerate(sku_ids):
        if sku_id in seen:
            raise ValidationFailed.field(f"{field}[{i}].sku", "this SKU is listed twice")
        seen.add(sku_id)


# --- reading stock -----------------------------------------------------------------------

def _stock_select():
    threshold = func.coalesce(StockLevel.low_stock_threshold, SkuStockSetting.low_stock_threshold)
    return (
        select(StockLevel, Sku.code.label("sku_code"), Warehouse.code.label("warehouse_code"),
               threshold.label("threshold"))
        .join(Sku, Sku.id == StockLevel.sku_id)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .outerjoin(SkuStockSetting, SkuStockSetting.sku_id == StockLevel.sku_id)
    ), threshold


def _stock_out(row) -> StockOut:
    level = row.StockLevel
    available = level.on_hand - level.reserved
    return StockOut(sku_id=level.sku_id, sku_code=row.sku_code, warehouse_id=level.warehouse_id,
                    warehouse_code=row.warehouse_code, on_hand=level.on_hand, reserved=level.reserved,
                    available=available, low_stock_threshold=row.threshold,
                    low_stock=row.threshold is not None and available <= row.threshold, updated_at=level.updated_at)


def _stock_rows(session: Session, keys: set[tuple[int, int]]) -> list[StockOut]:
    if not keys:
        return []
    query, _ = _stock_select()
    conditions = [(StockLevel.warehouse_id == w) & (StockLevel.sku_id == s) for w, s in sorted(keys)]
    rows = session.execute(query.where(or_(*conditions)).order_by(StockLevel.warehouse_id, StockLevel.sku_id)
                           .execution_options(populate_existing=True))
    return [_stock_out(r) for r in rows]


def query_stock(ctx: Context, data: StockQueryIn) -> Page[StockOut]:
    """Stock by SKU, by warehouse, or only what is at or below its low-stock threshold."""
    query, threshold = _stock_select()
    if data.sku:
        ref = sku_ref(data.sku)
        query = query.where(Sku.id == ref if isinstance(ref, int) else Sku.code == ref)
    if data.warehouse_id:
        query = query.where(StockLevel.warehouse_id == data.warehouse_id)
    if data.low_stock:
        query = query.where(threshold.is_not(None), StockLevel.on_hand - StockLevel.reserved <= threshold)
    return paginate(ctx.session, query, data, _stock_out, StockLevel.sku_id, StockLevel.warehouse_id, entities=False)


def list_ledger(ctx: Context, data: StockLedgerIn) -> Page[LedgerEntryOut]:
    """The stock ledger, newest first, filtered by SKU, warehouse, type, document and dates."""
    query = select(StockLedgerEntry)
    if data.sku:
        ref = sku_ref(data.sku)
        sku_id = ref if isinstance(ref, int) else ctx.session.scalar(select(Sku.id).where(Sku.code == ref))
        query = query.where(StockLedgerEntry.sku_id == (sku_id or 0))
    if data.warehouse_id:
        query = query.where(StockLedgerEntry.warehouse_id == data.warehouse_id)
    if data.type:
        query = query.where(StockLedgerEntry.type == data.type)
    if data.doc_id:
        query = query.where(StockLedgerEntry.doc_id == data.doc_id)
    query = within(query, StockLedgerEntry.created_at, data.date_from, data.date_to)
    return paginate(ctx.session, query, data, LedgerEntryOut.model_validate, StockLedgerEntry.id.desc())


# --- the stock check ---------------------------------------------------------------------

_PLACES = Decimal("0.0001")


def check_stock(session: Session) -> StockCheckOut:
    """Compare every stock row with the sums of its ledger; list each row that disagrees or is negative."""
    sums = (select(StockLedgerEntry.stock_level_id.label("level_id"),
                   func.sum(StockLedgerEntry.qty_on_hand).label("on_hand"),
                   func.sum(StockLedgerEntry.qty_reserved).label("reserved"))
            .group_by(StockLedgerEntry.stock_level_id).subquery())
    query = (select(StockLevel.id, StockLevel.sku_id, StockLevel.warehouse_id, StockLevel.on_hand,
                    StockLevel.reserved, sums.c.on_hand.label("ledger_on_hand"),
                    sums.c.reserved.label("ledger_reserved"))
             .outerjoin(sums, sums.c.level_id == StockLevel.id).order_by(StockLevel.id))
    checked, mismatches = 0, []
    for row in session.execute(query):
        checked += 1
        on_hand, reserved = Decimal(row.on_hand).quantize(_PLACES), Decimal(row.reserved).quantize(_PLACES)
        ledger_on_hand = Decimal(row.ledger_on_hand or 0).quantize(_PLACES)
        ledger_reserved = Decimal(row.ledger_reserved or 0).quantize(_PLACES)
        if (on_hand, reserved) != (ledger_on_hand, ledger_reserved) or reserved < 0 or on_hand < reserved:
            mismatches.append(StockMismatch(stock_level_id=row.id, sku_id=row.sku_id, warehouse_id=row.warehouse_id,
                                            on_hand=on_hand, reserved=reserved, ledger_on_hand=ledger_on_hand,
                                            ledger_reserved=ledger_reserved))
    return StockCheckOut(checked=checked, mismatches=mismatches, checked_at=utcnow())
