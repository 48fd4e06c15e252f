"""Inventory services: warehouses, the stock functions (adjust, transfer, count, thresholds), queries
and the stock check. Every change of stock is a document posted through ``ledger.post_stock``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from ..catalog.api import find_skus, sku_codes, sku_ref
from ..context import Context
from ..db import ZERO, utcnow
from ..errors import Conflict, ErpError, NotFound, ValidationFailed
from ..paging import paginate, within
from ..schemas import UNIT_PLACES, Page
from . import models as m
from .events import WarehouseCreated
from .ledger import Posting, StockDocument, StockLine, lock_levels, no_repeats, post_stock
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
    ctx.emit(WarehouseCreated(warehouse_id=warehouse.id, code=warehouse.code, by=ctx.actor))
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


def resolve_warehouse(session: Session, warehouse_id: int | None) -> int:
    """The id of the named active warehouse, or of the default one when none is named (errors name
    ``warehouse_id``)."""
    return _warehouse(session, warehouse_id, "warehouse_id")


def warehouse_codes(session: Session) -> dict[int, str]:
    """Every warehouse's code, by id (for reports)."""
    return dict(session.execute(select(Warehouse.id, Warehouse.code)).all())


def _warehouse(session: Session, warehouse_id: int | None, field: str) -> int:
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


def _skus(session: Session, refs: list, field_of) -> list:
    try:
        return find_skus(session, refs)
    except ErpError as exc:
        raise exc.locate(field_of) from None


def _lines_field(i: int) -> str:
    return f"lines[{i}].sku"


# --- the stock functions -----------------------------------------------------------------

def _movement(ctx: Context, posting: Posting) -> StockMovementOut:
    stock = _stock_rows(ctx.session, {(p.warehouse_id, p.sku_id) for p in posting.lines})
    # The ledger rows' ids, in the order they were written (one multi-row INSERT: ascending ids);
    # the stock functions' document ids are unique per request.
    ids = list(ctx.session.scalars(select(StockLedgerEntry.id).where(
        StockLedgerEntry.doc_type == posting.doc_type, StockLedgerEntry.doc_id == posting.doc_id)
        .order_by(StockLedgerEntry.id))) if posting.lines else []
    entries = [LedgerEntryOut(id=entry_id, sku_id=p.sku_id, warehouse_id=p.warehouse_id, type=p.kind,
                              qty_on_hand=p.qty_on_hand, qty_reserved=p.qty_reserved, on_hand_after=p.on_hand_after,
                              reserved_after=p.reserved_after, doc_type=posting.doc_type, doc_id=posting.doc_id,
                              origin_type=p.origin_type, origin_id=p.origin_id, unit_cost=p.unit_cost,
                              reason=posting.reason,
                              actor=posting.actor, created_at=posting.created_at)
               for entry_id, p in zip(ids, posting.lines, strict=True)]
    return StockMovementOut(doc_type=posting.doc_type, doc_id=posting.doc_id, entries=entries, stock=stock)


def _doc_id(ctx: Context, prefix: str) -> str:
    return f"{prefix}-{ctx.now:%Y%m%d%H%M%S}-{ctx.request_id[:8]}"


def adjust_stock(ctx: Context, data: StockAdjustIn) -> StockMovementOut:
    """Put stock in or take it out of a warehouse, with a reason (ledger type adjust, receipt or issue).

    Taking out more than is available (on hand minus reserved) is refused with 409.
    """
    warehouse_id = resolve_warehouse(ctx.session, data.warehouse_id)
    (sku,) = _skus(ctx.session, [data.sku], lambda i: "sku")
    quantity = -data.quantity if data.direction == "out" and data.type == m.ADJUST else data.quantity
    doc = StockDocument("adjustment", _doc_id(ctx, "ADJ"), [
        StockLine(sku.id, warehouse_id, data.type, quantity, sku_code=sku.code)], reason=data.reason)
    return _movement(ctx, _post(ctx, doc, lambda i: "quantity"))


def _post(ctx: Context, doc: StockDocument, field_of) -> Posting:
    try:
        return post_stock(ctx, doc)
    except ErpError as exc:
        raise exc.locate(field_of) from None


def transfer_stock(ctx: Context, data: StockTransferIn) -> StockMovementOut:
    """Move stock between two warehouses, all lines or none."""
    if data.from_warehouse_id == data.to_warehouse_id:
        raise ValidationFailed.field("to_warehouse_id", "must differ from from_warehouse_id")
    source = _warehouse(ctx.session, data.from_warehouse_id, "from_warehouse_id")
    target = _warehouse(ctx.session, data.to_warehouse_id, "to_warehouse_id")
    skus = _skus(ctx.session, [ln.sku for ln in data.lines], _lines_field)
    _locate(lambda: no_repeats([s.id for s in skus]), _lines_field)
    lines = []
    for sku, line in zip(skus, data.lines, strict=True):
        lines.append(StockLine(sku.id, source, m.TRANSFER_OUT, line.quantity, sku_code=sku.code))
        lines.append(StockLine(sku.id, target, m.TRANSFER_IN, line.quantity, sku_code=sku.code))
    doc = StockDocument("transfer", _doc_id(ctx, "TRF"), lines, reason=data.reason)
    return _movement(ctx, _post(ctx, doc, lambda i: f"lines[{i // 2}].quantity"))


def _locate(step, field_of) -> None:
    try:
        step()
    except ErpError as exc:
        raise exc.locate(field_of) from None


def count_stock(ctx: Context, data: StockCountIn) -> StockMovementOut:
    """Record a stocktake: the counted quantities; the differences are posted as stocktake rows.

    A count below what is reserved for orders is refused (409): cancel or ship those first.
    """
    warehouse_id = resolve_warehouse(ctx.session, data.warehouse_id)
    skus = _skus(ctx.session, [ln.sku for ln in data.lines], _lines_field)
    _locate(lambda: no_repeats([s.id for s in skus]), _lines_field)
    levels = lock_levels(ctx.session, warehouse_id, [s.id for s in skus], create=True)
    lines, fields = [], []
    for i, (sku, line) in enumerate(zip(skus, data.lines, strict=True)):
        diff = line.counted - levels[sku.id].on_hand
        if diff != 0:
            lines.append(StockLine(sku.id, warehouse_id, m.STOCKTAKE, diff, sku_code=sku.code))
            fields.append(f"lines[{i}].counted")
    doc = StockDocument("stocktake", _doc_id(ctx, "CNT"), lines, reason=data.reason)
    posting = _post(ctx, doc, lambda i: fields[i])
    result = _movement(ctx, posting)
    if not posting.lines:
        result.stock = _stock_rows(ctx.session, {(warehouse_id, s.id) for s in skus})
    return result


def set_threshold(ctx: Context, data: StockThresholdIn) -> ThresholdOut:
    """Set a SKU's low-stock threshold, for every warehouse or (with ``warehouse_id``) for one."""
    (sku,) = _skus(ctx.session, [data.sku], lambda i: "sku")
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
    level = lock_levels(ctx.session, warehouse_id, [sku.id], create=True)[sku.id]
    ctx.session.execute(update(_levels).where(_levels.c.id == level.id).values(low_stock_threshold=data.threshold))
    return ThresholdOut(sku_id=sku.id, sku_code=sku.code, warehouse_id=warehouse_id, low_stock_threshold=data.threshold)


# --- reading stock -----------------------------------------------------------------------

def _stock_select():
    threshold = func.coalesce(StockLevel.low_stock_threshold, SkuStockSetting.low_stock_threshold)
    return (
        select(StockLevel, Warehouse.code.label("warehouse_code"), threshold.label("threshold"))
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .outerjoin(SkuStockSetting, SkuStockSetting.sku_id == StockLevel.sku_id)
    ), threshold


def _stock_out(row, codes: dict[int, str]) -> StockOut:
    level = row.StockLevel
    available = level.on_hand - level.reserved
    return StockOut(sku_id=level.sku_id, sku_code=codes.get(level.sku_id, ""), warehouse_id=level.warehouse_id,
                    warehouse_code=row.warehouse_code, on_hand=level.on_hand, reserved=level.reserved,
                    available=available, low_stock_threshold=row.threshold,
                    low_stock=row.threshold is not None and available <= row.threshold, updated_at=level.updated_at)


def _stock_rows(session: Session, keys: set[tuple[int, int]]) -> list[StockOut]:
    if not keys:
        return []
    query, _ = _stock_select()
    conditions = [(StockLevel.warehouse_id == w) & (StockLevel.sku_id == s) for w, s in sorted(keys)]
    rows = session.execute(query.where(or_(*conditions)).order_by(StockLevel.warehouse_id, StockLevel.sku_id)
                           .execution_options(populate_existing=True)).all()
    codes = sku_codes(session, [r.StockLevel.sku_id for r in rows])
    return [_stock_out(r, codes) for r in rows]


def _sku_id(session: Session, text: str) -> int | None:
    """The id of the SKU named in a filter (id or code), or None when there is no such SKU."""
    ref = sku_ref(text)
    if isinstance(ref, int) and ref > 2_147_483_647:
        return None
    try:
        return find_skus(session, [ref])[0].id
    except NotFound:
        return None


def query_stock(ctx: Context, data: StockQueryIn) -> Page[StockOut]:
    """Stock by SKU, by warehouse, or only what is at or below its low-stock threshold."""
    query, threshold = _stock_select()
    if data.sku:
        query = query.where(StockLevel.sku_id == (_sku_id(ctx.session, data.sku) or 0))
    if data.warehouse_id:
        query = query.where(StockLevel.warehouse_id == data.warehouse_id)
    if data.low_stock:
        query = query.where(threshold.is_not(None), StockLevel.on_hand - StockLevel.reserved <= threshold)
    def with_codes(rows: list) -> list[StockOut]:  # the page's SKU codes, read from the catalog in one query
        codes = sku_codes(ctx.session, [r.StockLevel.sku_id for r in rows])
        return [_stock_out(r, codes) for r in rows]

    return paginate(ctx.session, query, data, None, StockLevel.sku_id, StockLevel.warehouse_id, entities=False,
                    per_page=with_codes)


def list_ledger(ctx: Context, data: StockLedgerIn) -> Page[LedgerEntryOut]:
    """The stock ledger, newest first, filtered by SKU, warehouse, type, document and dates."""
    query = select(StockLedgerEntry)
    if data.sku:
        query = query.where(StockLedgerEntry.sku_id == (_sku_id(ctx.session, data.sku) or 0))
    if data.warehouse_id:
        query = query.where(StockLedgerEntry.warehouse_id == data.warehouse_id)
    if data.type:
        query = query.where(StockLedgerEntry.type == data.type)
    if data.doc_id:
        query = query.where(StockLedgerEntry.doc_id == data.doc_id)
    query = within(query, StockLedgerEntry.created_at, data.date_from, data.date_to)
    return paginate(ctx.session, query, data, LedgerEntryOut.model_validate, StockLedgerEntry.id.desc())


# --- the stock check ---------------------------------------------------------------------




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
        on_hand, reserved = Decimal(row.on_hand).quantize(UNIT_PLACES), Decimal(row.reserved).quantize(UNIT_PLACES)
        ledger_on_hand = Decimal(row.ledger_on_hand or 0).quantize(UNIT_PLACES)
        ledger_reserved = Decimal(row.ledger_reserved or 0).quantize(UNIT_PLACES)
        if (on_hand, reserved) != (ledger_on_hand, ledger_reserved) or reserved < 0 or on_hand < reserved:
            mismatches.append(StockMismatch(stock_level_id=row.id, sku_id=row.sku_id, warehouse_id=row.warehouse_id,
                                            on_hand=on_hand, reserved=reserved, ledger_on_hand=ledger_on_hand,
                                            ledger_reserved=ledger_reserved))
    return StockCheckOut(checked=checked, mismatches=mismatches, checked_at=utcnow())


# --- for planning (through inventory.api) ---------------------------------------------------

@dataclass(frozen=True)
class LowStock:
    sku_id: int
    warehouse_id: int
    available: Decimal
    threshold: Decimal


def available_stock(session: Session, sku_ids: list[int], warehouse_id: int) -> dict[int, Decimal]:
    """What is available (on hand less reserved) of these SKUs in one warehouse (0 when no stock row)."""
    found = {r.sku_id: r.on_hand - r.reserved for r in session.execute(
        select(StockLevel.sku_id, StockLevel.on_hand, StockLevel.reserved)
        .where(StockLevel.warehouse_id == warehouse_id, StockLevel.sku_id.in_(sorted(set(sku_ids)))))}
    return {s: found.get(s, ZERO) for s in sku_ids}


def low_stock(session: Session, limit: int = 10_000) -> list[LowStock]:
    """Every SKU x warehouse whose available stock is at or below its low-stock threshold (as stock-query)."""
    query, threshold = _stock_select()
    rows = session.execute(query.where(threshold.is_not(None), StockLevel.on_hand - StockLevel.reserved <= threshold)
                           .order_by(StockLevel.sku_id, StockLevel.warehouse_id).limit(limit))
    return [LowStock(r.StockLevel.sku_id, r.StockLevel.warehouse_id, r.StockLevel.on_hand - r.StockLevel.reserved,
                     r.threshold) for r in rows]
