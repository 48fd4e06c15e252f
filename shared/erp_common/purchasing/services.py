"""Purchasing services: suppliers, a SKU's suppliers, purchase orders and their receipts.

A PO is written as a draft, approved (a purchaser up to ``ERP_PURCHASER_APPROVAL_LIMIT``, a
manager any amount), then received in one or more receipts: each posts one stock document of
``RECEIPT`` lines to the inventory ledger, each line naming its PO line as origin
(``purchase_order_line``, ``"<po id>/<line no>"``) and carrying the PO line's unit cost. Every
change locks the PO row first (``SELECT ... FOR UPDATE``), so two receipts of one PO queue.
Statuses move only through ``PO_WORKFLOW`` (purchasing/workflow.py).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..catalog.api import SkuInfo, find_skus, sku_ref
from ..context import Context
from ..db import ZERO
from ..errors import Conflict, ErpError, Forbidden, NotFound, ValidationFailed
from ..inventory import api as inventory
from ..paging import paginate, within
from ..schemas import Page, format_money, format_quantity, round_amount
from . import models as m
from .events import PoApproved, PoLineRef, PoReceived, SupplierCreated
from .models import PurchaseOrder, PurchaseOrderLine, PurchaseReceipt, SkuSupplier, Supplier
from .schemas import (
    PoCreateIn,
    PoEndIn,
    PoLineIn,
    PoLineOut,
    PoListIn,
    PoOut,
    PoReceiveIn,
    PoRefIn,
    PoSummaryOut,
    PoUpdateIn,
    ReceiptOut,
    SkuSupplierOut,
    SkuSupplierSetIn,
    SkuSuppliersOut,
    SupplierCreateIn,
    SupplierListIn,
    SupplierOut,
    SupplierRefIn,
    SupplierUpdateIn,
)
from .workflow import PO_WORKFLOW

DOC_TYPE = "purchase_order"
LINE_ORIGIN = "purchase_order_line"
HUNDRED = Decimal(100)
NUMBER = re.compile(r"PO(\d{8})(\d{6,})")


# --- suppliers -----------------------------------------------------------------------------

def create_supplier(ctx: Context, data: SupplierCreateIn) -> SupplierOut:
    """Create a supplier; its code is unique (409 naming ``code`` if taken)."""
    if ctx.session.scalar(select(Supplier.id).where(Supplier.code == data.code)) is not None:
        raise Conflict(f"the supplier code {data.code!r} is taken", code="supplier_code_taken",
                       details=[{"field": "code", "message": "already taken"}])
    supplier = Supplier(**data.model_dump(), is_active=True, created_by=ctx.actor, created_at=ctx.now,
                        updated_at=ctx.now)
    ctx.session.add(supplier)
    ctx.session.flush()
    ctx.emit(SupplierCreated(supplier_id=supplier.id, code=supplier.code, name=supplier.name, by=ctx.actor))
    return SupplierOut.model_validate(supplier)


def list_suppliers(ctx: Context, data: SupplierListIn) -> Page[SupplierOut]:
    """Suppliers by code, searched by part of the code or name, active or not."""
    query = select(Supplier)
    if data.q:
        like = f"%{data.q}%"
        query = query.where(or_(Supplier.code.like(like), Supplier.name.like(like)))
    if data.is_active is not None:
        query = query.where(Supplier.is_active.is_(data.is_active))
    return paginate(ctx.session, query, data, SupplierOut.model_validate, Supplier.code)


def _supplier(session: Session, ref: int | str, field: str = "supplier") -> Supplier:
    """The supplier with this id or code (ASCII digits, as in a path, are an id: as for SKUs)."""
    if isinstance(ref, str) and ref.isascii() and ref.isdigit():
        ref = int(ref)
    column = Supplier.id if isinstance(ref, int) else Supplier.code
    supplier = session.scalars(select(Supplier).where(column == ref)).one_or_none()
    if supplier is None:
        raise NotFound(f"supplier {ref} does not exist", details=[{"field": field, "message": "no such supplier"}])
    return supplier


def get_supplier(ctx: Context, data: SupplierRefIn) -> SupplierOut:
    """One supplier by id or code."""
    return SupplierOut.model_validate(_supplier(ctx.session, data.supplier))


def update_supplier(ctx: Context, data: SupplierUpdateIn) -> SupplierOut:
    """Change a supplier's name, contact, payment terms or active flag (the fields given)."""
    supplier = _supplier(ctx.session, data.supplier)
    for name, value in data.model_dump(exclude={"supplier"}, exclude_none=True).items():
        setattr(supplier, name, value)
    supplier.updated_at = ctx.now
    ctx.session.flush()
    return SupplierOut.model_validate(supplier)


# --- a SKU's suppliers -------------------------------------------------------------------

def _sku(session: Session, ref: int | str, field: str) -> SkuInfo:
    try:
        return find_skus(session, [ref])[0]
    except ErpError as exc:
        raise exc.locate(lambda i: field) from None


def _sku_suppliers(session: Session, sku: SkuInfo) -> SkuSuppliersOut:
    rows = session.execute(
        select(SkuSupplier, Supplier.code, Supplier.name).join(Supplier, Supplier.id == SkuSupplier.supplier_id)
        .where(SkuSupplier.sku_id == sku.id).order_by(SkuSupplier.is_preferred.desc(), Supplier.code))
    return SkuSuppliersOut(sku_id=sku.id, sku_code=sku.code, suppliers=[
        SkuSupplierOut(supplier_id=link.supplier_id, supplier_code=code, supplier_name=name,
                       supplier_sku_code=link.supplier_sku_code, last_price=link.last_price,
                       lead_time_days=link.lead_time_days, is_preferred=link.is_preferred, updated_at=link.updated_at)
        for link, code, name in rows])


def set_sku_supplier(ctx: Context, data: SkuSupplierSetIn) -> SkuSuppliersOut:
    """Add, change or remove one supplier of a SKU; answer the SKU's suppliers, the preferred one first.

    A supplier marked preferred becomes the SKU's only preferred one.
    """
    session = ctx.session
    sku = _sku(session, data.sku, "sku")
    _supplier(session, data.supplier_id, "supplier_id")
    link = session.scalars(select(SkuSupplier).where(SkuSupplier.sku_id == sku.id,
                                                     SkuSupplier.supplier_id == data.supplier_id)
                           .with_for_update()).one_or_none()
    if data.remove:
        if link is None:
            raise NotFound("this supplier does not supply this SKU",
                           details=[{"field": "supplier_id", "message": "not a supplier of this SKU"}])
        session.delete(link)
        session.flush()
        return _sku_suppliers(session, sku)
    if link is None:
        link = SkuSupplier(sku_id=sku.id, supplier_id=data.supplier_id)
        session.add(link)
    link.supplier_sku_code, link.lead_time_days = data.supplier_sku_code, data.lead_time_days
    if data.last_price is not None:
        link.last_price = data.last_price
    link.is_preferred, link.updated_at = data.is_preferred, ctx.now
    if data.is_preferred:
        for other in session.scalars(select(SkuSupplier).where(SkuSupplier.sku_id == sku.id,
                                                               SkuSupplier.supplier_id != data.supplier_id,
                                                               SkuSupplier.is_preferred.is_(True))):
            other.is_preferred, other.updated_at = False, ctx.now
    session.flush()
    return _sku_suppliers(session, sku)


# --- purchase orders ---------------------------------------------------------------------

def _active_supplier(session: Session, supplier_id: int) -> Supplier:
    supplier = _supplier(session, supplier_id, "supplier_id")
    if not supplier.is_active:
        raise Conflict(f"supplier {supplier.code} is inactive", code="supplier_inactive",
                       details=[{"field": "supplier_id", "message": "inactive"}])
    return supplier


def _lines(session: Session, lines: list[PoLineIn]) -> list[PurchaseOrderLine]:
    """The PO's lines from the input: SKUs resolved (404 naming the line), none listed twice (422)."""
    try:
        skus = find_skus(session, [ln.sku for ln in lines])
    except ErpError as exc:
        raise exc.locate(lambda i: f"lines[{i}].sku") from None
    seen: dict[int, int] = {}
    out = []
    for i, (sku, line) in enumerate(zip(skus, lines, strict=True)):
        if sku.id in seen:
            raise ValidationFailed.field(f"lines[{i}].sku", f"this SKU is already on lines[{seen[sku.id]}]")
        seen[sku.id] = i
        out.append(PurchaseOrderLine(line_no=i + 1, sku_id=sku.id, sku_code=sku.code, quantity=line.qty,
                                     unit_cost=line.unit_cost, amount=round_amount(line.qty * line.unit_cost),
                                     qty_received=ZERO, expected_at=line.expected_at))
    return out


def _set_lines(po: PurchaseOrder, lines: list[PurchaseOrderLine]) -> None:
    po.lines = lines
    po.total_amount = sum((ln.amount for ln in lines), ZERO)


def _load(session: Session, ref: int | str, *, lock: bool = False) -> PurchaseOrder:
    """The PO with this id or number (the number carries the id)."""
    po_id: int | None = ref if isinstance(ref, int) else None
    if isinstance(ref, str):
        match = NUMBER.fullmatch(ref)
        po_id = int(ref) if ref.isascii() and ref.isdigit() else int(match.group(2)) if match else None
    po = None
    if po_id is not None and po_id <= 2_147_483_647:
        query = select(PurchaseOrder).where(PurchaseOrder.id == po_id)
        po = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if po is not None and isinstance(ref, str) and ref.startswith("PO") and po.number != ref:
        po = None  # the id exists but the date in the number is not its date
    if po is None:
        raise NotFound(f"purchase order {ref} does not exist", details=[{"field": "po", "message": "no such PO"}])
    return po


def _out(po: PurchaseOrder) -> PoOut:
    return PoOut(
        id=po.id, number=po.number, supplier_id=po.supplier_id, warehouse_id=po.warehouse_id, status=po.status,
        total_amount=po.total_amount, expected_at=po.expected_at, created_by=po.created_by,
        created_at=po.created_at, over_receipt_pct=po.over_receipt_pct, note=po.note, updated_at=po.updated_at,
        approved_by=po.approved_by, approved_at=po.approved_at, ended_at=po.ended_at, end_reason=po.end_reason,
        allowed_actions=PO_WORKFLOW.allowed_actions(po.status),
        lines=[PoLineOut.model_validate(ln) for ln in po.lines],
        receipts=[ReceiptOut(id=r.id, lines=json.loads(r.lines), note=r.note, created_by=r.created_by,
                             created_at=r.created_at) for r in po.receipts])


def create_po(ctx: Context, data: PoCreateIn) -> PoOut:
    """Create a draft PO for an active supplier, into a warehouse (default: the default one)."""
    session = ctx.session
    _active_supplier(session, data.supplier_id)
    warehouse_id = inventory.resolve_warehouse(session, data.warehouse_id)
    pct = data.over_receipt_pct if data.over_receipt_pct is not None else ctx.settings.po_over_receipt_percent
    po = PurchaseOrder(supplier_id=data.supplier_id, warehouse_id=warehouse_id, status=m.DRAFT,
                       expected_at=data.expected_at, over_receipt_pct=pct, note=data.note, created_by=ctx.actor,
                       created_at=ctx.now, updated_at=ctx.now)
    _set_lines(po, _lines(session, data.lines))
    session.add(po)
    session.flush()
    return _out(po)


def get_po(ctx: Context, data: PoRefIn) -> PoOut:
    """One PO by id or number, with its lines and receipts."""
    return _out(_load(ctx.session, data.po))


def list_pos(ctx: Context, data: PoListIn) -> Page[PoSummaryOut]:
    """POs, newest first, by status, supplier, SKU on a line and creation dates."""
    query = select(PurchaseOrder)
    if data.status:
        query = query.where(PurchaseOrder.status == data.status)
    if data.supplier_id:
        query = query.where(PurchaseOrder.supplier_id == data.supplier_id)
    if data.sku is not None:
        ref = sku_ref(data.sku)
        try:
            sku_id = find_skus(ctx.session, [ref])[0].id if not isinstance(ref, int) or ref <= 2_147_483_647 else 0
        except NotFound:
            sku_id = 0  # an unknown SKU filters everything out
        query = query.where(PurchaseOrder.id.in_(select(PurchaseOrderLine.po_id)
                                                 .where(PurchaseOrderLine.sku_id == sku_id)))
    query = within(query, PurchaseOrder.created_at, data.date_from, data.date_to)
    return paginate(ctx.session, query, data, PoSummaryOut.model_validate, PurchaseOrder.id.desc())


def _move(ctx: Context, po: PurchaseOrder, action: str, to: str | None = None) -> None:
    PO_WORKFLOW.apply(po, action, to, label=po.number)
    po.updated_at = ctx.now


def update_po(ctx: Context, data: PoUpdateIn) -> PoOut:
    """Change a draft PO: the fields given; ``lines`` replace every line (409 unless it is a draft)."""
    session = ctx.session
    po = _load(session, data.po, lock=True)
    PO_WORKFLOW.check(po.status, "update", label=po.number)
    if data.supplier_id is not None:
        _active_supplier(session, data.supplier_id)
        po.supplier_id = data.supplier_id
    if data.warehouse_id is not None:
        po.warehouse_id = inventory.resolve_warehouse(session, data.warehouse_id)
    for name in ("expected_at", "over_receipt_pct", "note"):
        if getattr(data, name) is not None:
            setattr(po, name, getattr(data, name))
    if data.lines is not None:
        po.lines.clear()
        session.flush()  # the old lines go before the new ones take their line numbers
        _set_lines(po, _lines(session, data.lines))
    _move(ctx, po, "update")
    session.flush()
    return _out(po)


def _refs(picked: list[tuple[PurchaseOrderLine, Decimal]]) -> list[PoLineRef]:
    return [PoLineRef(line_no=ln.line_no, sku_id=ln.sku_id, sku_code=ln.sku_code, qty=q, unit_cost=ln.unit_cost)
            for ln, q in picked]


def approve_po(ctx: Context, data: PoRefIn) -> PoOut:
    """Approve a draft PO: a manager (or admin) any amount, a purchaser up to the approval limit (403 above)."""
    po = _load(ctx.session, data.po, lock=True)
    PO_WORKFLOW.check(po.status, "approve", label=po.number)
    user = ctx.user
    limit = ctx.settings.purchaser_approval_limit
    if not (user.roles & {"admin", "manager"}) and po.total_amount > limit:
        raise Forbidden(f"{po.number} totals {format_money(po.total_amount)}: above the purchaser's approval limit "
                        f"{format_money(limit)}; a manager must approve it", code="approval_limit_exceeded",
                        details=[{"field": "total_amount", "total_amount": format_money(po.total_amount),
                                  "limit": format_money(limit)}])
    po.approved_by, po.approved_at = ctx.actor, ctx.now
    _move(ctx, po, "approve")
    ctx.session.flush()
    ctx.emit(PoApproved(po_id=po.id, number=po.number, supplier_id=po.supplier_id, warehouse_id=po.warehouse_id,
                        total_amount=po.total_amount, lines=_refs([(ln, ln.quantity) for ln in po.lines]),
                        by=ctx.actor))
    return _out(po)


def _allowed(po: PurchaseOrder, line: PurchaseOrderLine) -> Decimal:
    """What a line may still receive: its quantity plus the tolerance, less what came in."""
    return line.quantity * (1 + po.over_receipt_pct / HUNDRED) - line.qty_received


def _pick(po: PurchaseOrder, data: PoReceiveIn) -> list[tuple[PurchaseOrderLine, Decimal]]:
    """The lines and quantities received (default: what each line still awaits); 409 beyond the tolerance."""
    if data.lines is None:
        return [(ln, ln.quantity - ln.qty_received) for ln in po.lines if ln.quantity > ln.qty_received]
    picked: dict[int, tuple[PurchaseOrderLine, Decimal]] = {}
    over = []
    for i, item in enumerate(data.lines):
        field = f"lines[{i}]"
        if (item.line_no is None) == (item.sku is None):
            raise ValidationFailed.field(field, "name either line_no or sku")
        matches = [ln for ln in po.lines
                   if ln.line_no == item.line_no or (item.sku is not None and item.sku in (ln.sku_id, ln.sku_code))]
        if not matches:
            raise ValidationFailed.field(field, "no such line on this purchase order")
        line = matches[0]
        if line.line_no in picked:
            raise ValidationFailed.field(field, "this line is listed twice")
        if item.qty > _allowed(po, line):
            over.append({"field": f"{field}.qty", "line_no": line.line_no, "sku": line.sku_code,
                         "requested": format_quantity(item.qty), "ordered": format_quantity(line.quantity),
                         "received": format_quantity(line.qty_received),
                         "allowed": format_quantity(max(_allowed(po, line), ZERO)),
                         "over_receipt_pct": format_money(po.over_receipt_pct)})
        picked[line.line_no] = (line, item.qty)
    if over:
        names = ", ".join(f"line {o['line_no']} ({o['sku']}: at most {o['allowed']})" for o in over)
        raise Conflict(f"more than ordered: {names}", code="over_receipt", details=over)
    return list(picked.values())


def receive_po(ctx: Context, data: PoReceiveIn) -> PoOut:
    """Receive goods against an approved PO, wholly or in part, into its warehouse.

    One stock document of ``RECEIPT`` lines is posted, each naming its PO line as origin and
    carrying the line's unit cost; a line may receive up to its quantity plus the PO's over-receipt
    tolerance (409 ``over_receipt`` naming each line beyond it).
    """
    po = _load(ctx.session, data.po, lock=True)
    PO_WORKFLOW.check(po.status, "receive", label=po.number)
    picked = _pick(po, data)
    if not picked:
        raise Conflict(f"{po.number} has nothing left to receive", code="nothing_to_receive",
                       details=[{"field": "lines", "status": po.status}])
    doc = inventory.StockDocument(DOC_TYPE, po.number, [
        inventory.StockLine(ln.sku_id, po.warehouse_id, inventory.RECEIPT, qty, sku_code=ln.sku_code,
                            origin_type=LINE_ORIGIN, origin_id=ln.origin_id, unit_cost=ln.unit_cost)
        for ln, qty in picked], reason=data.note)
    try:
        inventory.post_stock(ctx, doc)
    except ErpError as exc:
        raise exc.locate(lambda i: f"lines[{i}].qty") from None
    for line, qty in picked:
        line.qty_received += qty
    _remember_prices(ctx, po, [ln for ln, _ in picked])
    refs = _refs(picked)
    receipt = PurchaseReceipt(po_id=po.id, lines=json.dumps([r.model_dump(mode="json") for r in refs]),
                              note=data.note, created_by=ctx.actor, created_at=ctx.now)
    po.receipts.append(receipt)
    done = all(ln.qty_received >= ln.quantity for ln in po.lines)
    _move(ctx, po, "receive", m.RECEIVED if done else m.PARTIALLY_RECEIVED)
    ctx.session.flush()
    ctx.emit(PoReceived(po_id=po.id, number=po.number, supplier_id=po.supplier_id, warehouse_id=po.warehouse_id,
                        receipt_id=receipt.id, status=po.status, lines=refs, by=ctx.actor))
    return _out(po)


def _remember_prices(ctx: Context, po: PurchaseOrder, received: list[PurchaseOrderLine]) -> None:
    """The supplier's last price of each SKU received is the PO line's unit cost (when the link exists)."""
    costs = {ln.sku_id: ln.unit_cost for ln in received}
    for link in ctx.session.scalars(select(SkuSupplier).where(SkuSupplier.supplier_id == po.supplier_id,
                                                              SkuSupplier.sku_id.in_(costs))):
        link.last_price, link.updated_at = costs[link.sku_id], ctx.now


def _end(ctx: Context, data: PoEndIn, action: str) -> PoOut:
    po = _load(ctx.session, data.po, lock=True)
    _move(ctx, po, action)
    po.ended_at, po.end_reason = ctx.now, data.reason or action
    ctx.session.flush()
    return _out(po)


def cancel_po(ctx: Context, data: PoEndIn) -> PoOut:
    """Cancel a PO before anything was received (409 once goods came in: close it instead)."""
    return _end(ctx, data, "cancel")


def close_po(ctx: Context, data: PoEndIn) -> PoOut:
    """End a partially received PO: the rest will not come."""
    return _end(ctx, data, "close")


# --- for planning (through purchasing.api) -------------------------------------------------

@dataclass(frozen=True)
class PreferredSupplier:
    supplier_id: int
    supplier_code: str
    last_price: Decimal | None
    lead_time_days: int


def preferred_suppliers(session: Session, sku_ids: list[int]) -> dict[int, PreferredSupplier]:
    """The preferred (and active) supplier of each of these SKUs that has one."""
    rows = session.execute(
        select(SkuSupplier.sku_id, Supplier.id, Supplier.code, SkuSupplier.last_price, SkuSupplier.lead_time_days)
        .join(Supplier, Supplier.id == SkuSupplier.supplier_id)
        .where(SkuSupplier.sku_id.in_(sorted(set(sku_ids))), SkuSupplier.is_preferred.is_(True),
               Supplier.is_active.is_(True)))
    return {r.sku_id: PreferredSupplier(r.id, r.code, r.last_price, r.lead_time_days) for r in rows}


def open_quantities(session: Session, sku_ids: list[int], warehouse_id: int | None = None) -> dict[int, Decimal]:
    """What open POs (draft, approved, partially received) still bring of each SKU (drafts count: a plan
    run twice does not order twice)."""
    query = (select(PurchaseOrderLine.sku_id, PurchaseOrderLine.quantity, PurchaseOrderLine.qty_received)
             .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.po_id)
             .where(PurchaseOrderLine.sku_id.in_(sorted(set(sku_ids))), PurchaseOrder.status.in_(m.OPEN_STATUSES)))
    if warehouse_id is not None:
        query = query.where(PurchaseOrder.warehouse_id == warehouse_id)
    due: dict[int, Decimal] = {}
    for row in session.execute(query):
        due[row.sku_id] = due.get(row.sku_id, ZERO) + max(row.quantity - row.qty_received, ZERO)
    return due


@dataclass(frozen=True)
class DraftLine:
    sku_id: int
    qty: Decimal
    unit_cost: Decimal
    expected_at: datetime | None = None


def create_draft_po(ctx: Context, supplier_id: int, warehouse_id: int, lines: list[DraftLine], note: str = "") -> PoOut:
    """A draft PO made by a plan or a job (the same rules as po-create)."""
    return create_po(ctx, PoCreateIn(supplier_id=supplier_id, warehouse_id=warehouse_id, note=note[:255], lines=[
        PoLineIn(sku=ln.sku_id, qty=ln.qty, unit_cost=ln.unit_cost, expected_at=ln.expected_at) for ln in lines]))
