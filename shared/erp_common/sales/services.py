"""Sales services: create (price and reserve), pay, ship, cancel and return orders; cancel unpaid ones.

An order is created in one transaction: prices come from the catalog (a client ``unit_price``
that differs is refused), every line is reserved through the inventory ledger or none is (409
listing each short SKU with what is available), and ``order.created`` goes to the outbox. Every
later change locks the order row first (``SELECT ... FOR UPDATE``), then its stock rows in SKU
order, so two changes of one order queue and a change can never deadlock with a create.

Statuses: ``pending_payment`` -> ``paid`` -> ``partially_shipped`` / ``shipped`` ->
``partially_returned`` / ``returned``; ``pending_payment`` or ``paid`` (nothing shipped) ->
``cancelled``. Anything else is refused with 409 naming the current status.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..catalog.models import ON_SALE
from ..config import get_settings
from ..context import Context
from ..db import ZERO, run_in_transaction, transaction, utcnow
from ..errors import Conflict, NotFound, ValidationFailed
from ..inventory import models as inv
from ..inventory.services import Move, SkuRow, lock_skus_with_stock, post_moves, resolve_warehouse
from ..jobs.schemas import JobRunOut
from ..jobs.services import run_job
from ..paging import paginate, within
from ..schemas import Page, format_money, format_quantity
from . import models as m
from .models import Payment, Refund, SalesOrder, SalesOrderLine, Shipment, order_id_from_number, order_number
from .schemas import (
    LineQtyIn,
    MovementOut,
    OrderCancelIn,
    OrderCreateIn,
    OrderLineOut,
    OrderListIn,
    OrderOut,
    OrderPayIn,
    OrderRefIn,
    OrderReturnIn,
    OrderShipIn,
    OrderSummaryOut,
)

log = logging.getLogger(__name__)
DOC_TYPE = "sales_order"
CENT = Decimal("0.0001")
_orders = SalesOrder.__table__
_lines = SalesOrderLine.__table__
_INSERT_ORDER = insert(_orders)  # built once (see inventory.services): the values go in as parameters
_INSERT_LINES = insert(_lines)


def _amount(qty: Decimal, price: Decimal) -> Decimal:
    return (qty * price).quantize(CENT, rounding=ROUND_HALF_UP)


def _check_lines(data: OrderCreateIn, skus: list[SkuRow]) -> None:
    """Refuse SKUs listed twice (422), SKUs not on sale and client prices that differ (409)."""
    seen: dict[int, int] = {}
    for i, sku in enumerate(skus):
        if sku.id in seen:
            raise ValidationFailed.field(f"lines[{i}].sku", f"this SKU is already on lines[{seen[sku.id]}]")
        seen[sku.id] = i
    conflicts = []
    for i, (sku, line) in enumerate(zip(skus, data.lines, strict=True)):
        if sku.status != ON_SALE:
            conflicts.append({"field": f"lines[{i}].sku", "sku": sku.code, "message": f"not on sale ({sku.status})"})
        elif line.unit_price is not None and line.unit_price != sku.price:
            conflicts.append({"field": f"lines[{i}].unit_price", "sku": sku.code, "message": "differs from the price",
                              "unit_price": format_money(line.unit_price), "price": format_money(sku.price)})
    if conflicts:
        code = "price_mismatch" if all("price" in c for c in conflicts) else "sku_not_sellable"
        names = ", ".join(f"{c['field']} ({c['sku']}: {c['message']})" for c in conflicts)
        raise Conflict(f"the order cannot be priced as sent: {names}", code=code, details=conflicts)


def create_order(ctx: Context, data: OrderCreateIn) -> OrderOut:
    """Create an order: price every line from the catalog and reserve all of them, or none.

    A short line answers 409 ``insufficient_stock`` listing each short SKU with its available
    quantity; a ``unit_price`` that differs from the catalog price answers 409 ``price_mismatch``
    naming the line. With an ``Idempotency-Key`` a retry returns the first order.
    """
    session, now = ctx.session, ctx.now
    warehouse_id = resolve_warehouse(session, data.warehouse_id)
    skus, levels = lock_skus_with_stock(session, warehouse_id, [ln.sku for ln in data.lines],
                                        [f"lines[{i}].sku" for i in range(len(data.lines))])
    _check_lines(data, skus)
    lines = [
        {"line_no": i + 1, "sku_id": sku.id, "sku_code": sku.code, "unit_price": sku.price, "quantity": line.qty,
         "amount": _amount(line.qty, sku.price), "qty_shipped": ZERO, "qty_returned": ZERO, "qty_released": ZERO}
        for i, (sku, line) in enumerate(zip(skus, data.lines, strict=True))
    ]
    total = sum((ln["amount"] for ln in lines), ZERO)
    row = {"customer_id": data.customer_id, "warehouse_id": warehouse_id, "status": m.PENDING_PAYMENT,
           "total_amount": total, "paid_amount": ZERO, "refunded_amount": ZERO, "note": data.note,
           "created_by": ctx.actor, "created_at": now, "updated_at": now}

    def insert_order() -> str:  # called once the stock is locked and known to suffice
        order_id = session.execute(_INSERT_ORDER, row).inserted_primary_key[0]
        row["id"], number = order_id, order_number(order_id, now)
        session.execute(_INSERT_LINES, [{"order_id": order_id, **ln} for ln in lines])
        return number

    number = post_moves(ctx, [Move(sku.id, warehouse_id, inv.RESERVE, reserved=ln["quantity"], sku_code=sku.code)
                              for sku, ln in zip(skus, lines, strict=True)], DOC_TYPE, insert_order,
                        locked=levels)[0]["doc_id"]

    ctx.emit("order.created", {
        "order_id": row["id"], "number": number, "customer_id": data.customer_id, "warehouse_id": warehouse_id,
        "total_amount": format_money(total), "by": ctx.actor,
        "lines": [{"sku_id": ln["sku_id"], "sku_code": ln["sku_code"], "qty": format_quantity(ln["quantity"]),
                   "unit_price": format_money(ln["unit_price"])} for ln in lines],
    })
    return OrderOut(**row, number=number, amount_due=total, paid_at=None, cancelled_at=None, cancel_reason=None,
                    lines=[OrderLineOut(**ln) for ln in lines])


# --- reading orders ----------------------------------------------------------------------

def _load(session: Session, ref: int | str, *, lock: bool = False) -> SalesOrder:
    """The order with this id or number (the number carries the id: no index on it is needed)."""
    order_id = ref if isinstance(ref, int) else int(ref) if ref.isdigit() else order_id_from_number(ref)
    order = None
    if order_id is not None:
        query = select(SalesOrder).where(SalesOrder.id == order_id)
        if lock:
            query = query.with_for_update()
        order = session.scalars(query).one_or_none()
    if order is not None and isinstance(ref, str) and not ref.isdigit() and order.number != ref:
        order = None  # the id exists but the date in the number is not its date
    if order is None:
        raise NotFound(f"order {ref} does not exist", details=[{"field": "order", "message": "no such order"}])
    return order


def _movement_out(row: Shipment | Refund) -> MovementOut:
    return MovementOut(id=row.id, amount=getattr(row, "amount", None), reason=getattr(row, "reason", None),
                       lines=json.loads(row.lines), created_by=row.created_by, created_at=row.created_at)


def _out(order: SalesOrder) -> OrderOut:
    return OrderOut(
        id=order.id, number=order.number, customer_id=order.customer_id, warehouse_id=order.warehouse_id,
        status=order.status, total_amount=order.total_amount, paid_amount=order.paid_amount,
        refunded_amount=order.refunded_amount, amount_due=order.amount_due, note=order.note,
        created_by=order.created_by, created_at=order.created_at, updated_at=order.updated_at,
        paid_at=order.paid_at, cancelled_at=order.cancelled_at, cancel_reason=order.cancel_reason,
        lines=[OrderLineOut.model_validate(ln) for ln in order.lines],
        payments=order.payments, shipments=[_movement_out(s) for s in order.shipments],
        refunds=[_movement_out(r) for r in order.refunds],
    )


def get_order(ctx: Context, data: OrderRefIn) -> OrderOut:
    """One order by id or number, with its lines, payments, shipments and refunds."""
    return _out(_load(ctx.session, data.order))


def list_orders(ctx: Context, data: OrderListIn) -> Page[OrderSummaryOut]:
    """Orders, newest first, filtered by status, customer and creation dates."""
    query = select(SalesOrder)
    if data.status:
        query = query.where(SalesOrder.status == data.status)
    if data.customer_id:
        query = query.where(SalesOrder.customer_id == data.customer_id)
    query = within(query, SalesOrder.created_at, data.date_from, data.date_to)
    return paginate(ctx.session, query, data, OrderSummaryOut.model_validate, SalesOrder.id.desc())


# --- changing orders ---------------------------------------------------------------------

def _require(order: SalesOrder, allowed: tuple[str, ...], action: str) -> None:
    if order.status not in allowed:
        raise Conflict(
            f"order {order.number} is {order.status}: it cannot be {action}",
            code="illegal_transition",
            details=[{"field": "status", "status": order.status, "allowed_from": list(allowed)}],
        )


def _touch(ctx: Context, order: SalesOrder, status: str) -> None:
    order.status = status
    order.updated_at = ctx.now


def pay_order(ctx: Context, data: OrderPayIn) -> OrderOut:
    """Record the payment of an order; the amount must equal the amount due (409 otherwise)."""
    order = _load(ctx.session, data.order, lock=True)
    _require(order, (m.PENDING_PAYMENT,), "paid")
    if data.amount != order.amount_due:
        raise Conflict(f"the amount {format_money(data.amount)} is not the amount due {format_money(order.amount_due)}",
                       code="amount_mismatch",
                       details=[{"field": "amount", "amount": format_money(data.amount),
                                 "amount_due": format_money(order.amount_due)}])
    order.payments.append(Payment(order_id=order.id, amount=data.amount, method=data.method,
                                  reference=data.reference, created_by=ctx.actor, created_at=ctx.now))
    order.paid_amount += data.amount
    order.paid_at = ctx.now
    _touch(ctx, order, m.PAID)
    ctx.session.flush()
    ctx.emit("order.paid", {"order_id": order.id, "number": order.number, "amount": format_money(data.amount),
                            "method": data.method, "by": ctx.actor})
    return _out(order)


def _pick(order: SalesOrder, wanted: list[LineQtyIn] | None, limit: Callable[[SalesOrderLine], Decimal],
          what: str) -> list[tuple[SalesOrderLine, Decimal]]:
    """The lines and quantities asked for (default: each line's limit); 409 beyond a line's limit."""
    if wanted is None:
        return [(ln, limit(ln)) for ln in order.lines if limit(ln) > 0]
    picked: dict[int, tuple[SalesOrderLine, Decimal]] = {}
    for i, item in enumerate(wanted):
        field = f"lines[{i}]"
        if (item.line_no is None) == (item.sku is None):
            raise ValidationFailed.field(field, "name either line_no or sku")
        matches = [ln for ln in order.lines
                   if ln.line_no == item.line_no or (item.sku is not None and item.sku in (ln.sku_id, ln.sku_code))]
        if not matches:
            raise ValidationFailed.field(field, "no such line on this order")
        line = matches[0]
        if line.line_no in picked:
            raise ValidationFailed.field(field, "this line is listed twice")
        qty = item.qty if item.qty is not None else limit(line)
        if qty > limit(line) or qty <= 0:
            raise Conflict(f"line {line.line_no} ({line.sku_code}): {format_quantity(qty)} is more than can be {what} "
                           f"({format_quantity(limit(line))})", code="quantity_exceeded",
                           details=[{"field": f"{field}.qty", "line_no": line.line_no, "sku": line.sku_code,
                                     "requested": format_quantity(qty), "allowed": format_quantity(limit(line))}])
        picked[line.line_no] = (line, qty)
    return list(picked.values())


def _goods_status(order: SalesOrder) -> str:
    shipped = sum((ln.qty_shipped for ln in order.lines), ZERO)
    returned = sum((ln.qty_returned for ln in order.lines), ZERO)
    all_shipped = all(ln.qty_shipped == ln.quantity for ln in order.lines)
    if returned > 0:
        return m.RETURNED if all_shipped and returned == shipped else m.PARTIALLY_RETURNED
    if all_shipped:
        return m.SHIPPED
    return m.PARTIALLY_SHIPPED if shipped > 0 else m.PAID


def _doc_lines(picked: list[tuple[SalesOrderLine, Decimal]]) -> list[dict[str, Any]]:
    return [{"line_no": ln.line_no, "sku_id": ln.sku_id, "sku_code": ln.sku_code, "qty": format_quantity(q)}
            for ln, q in picked]


def ship_order(ctx: Context, data: OrderShipIn) -> OrderOut:
    """Ship a paid order, wholly or in part: the reserved stock becomes a sale (issued from stock)."""
    order = _load(ctx.session, data.order, lock=True)
    _require(order, (m.PAID, m.PARTIALLY_SHIPPED, m.PARTIALLY_RETURNED), "shipped")
    picked = _pick(order, data.lines, lambda ln: ln.qty_reserved, "shipped")
    if not picked:
        raise Conflict(f"order {order.number} has nothing left to ship", code="nothing_to_ship",
                       details=[{"field": "lines", "status": order.status}])
    post_moves(ctx, [Move(ln.sku_id, order.warehouse_id, inv.SALE, on_hand=-q, reserved=-q, sku_code=ln.sku_code)
                     for ln, q in picked], DOC_TYPE, order.number)
    for line, qty in picked:
        line.qty_shipped += qty
    doc = _doc_lines(picked)
    shipment = Shipment(order_id=order.id, lines=json.dumps(doc), created_by=ctx.actor, created_at=ctx.now)
    order.shipments.append(shipment)
    _touch(ctx, order, _goods_status(order))
    ctx.session.flush()
    ctx.emit("order.shipped", {"order_id": order.id, "number": order.number, "shipment_id": shipment.id,
                               "status": order.status, "lines": doc, "by": ctx.actor})
    return _out(order)


def _cancel(ctx: Context, order: SalesOrder, reason: str) -> None:
    _require(order, (m.PENDING_PAYMENT, m.PAID), "cancelled")
    picked = [(ln, ln.qty_reserved) for ln in order.lines if ln.qty_reserved > 0]
    if picked:
        post_moves(ctx, [Move(ln.sku_id, order.warehouse_id, inv.RELEASE, reserved=-q, sku_code=ln.sku_code,
                              reason=reason[:255]) for ln, q in picked], DOC_TYPE, order.number)
    for line, qty in picked:
        line.qty_released += qty
    refund = None
    if order.paid_amount > order.refunded_amount:
        amount = order.paid_amount - order.refunded_amount
        refund = Refund(order_id=order.id, amount=amount, reason=f"cancelled: {reason}"[:255], lines="[]",
                        created_by=ctx.actor, created_at=ctx.now)
        order.refunds.append(refund)
        order.refunded_amount += amount
    order.cancelled_at = ctx.now
    order.cancel_reason = reason[:255]
    _touch(ctx, order, m.CANCELLED)
    ctx.session.flush()
    ctx.emit("order.cancelled", {"order_id": order.id, "number": order.number, "reason": reason,
                                 "released": _doc_lines(picked), "refund_id": refund.id if refund else None,
                                 "by": ctx.actor})


def cancel_order(ctx: Context, data: OrderCancelIn) -> OrderOut:
    """Cancel an order that has not shipped: release what is reserved, refund what was paid."""
    order = _load(ctx.session, data.order, lock=True)
    _cancel(ctx, order, data.reason or "cancelled")
    return _out(order)


def return_order(ctx: Context, data: OrderReturnIn) -> OrderOut:
    """Take back shipped goods: the quantities go back into stock and a refund is recorded."""
    order = _load(ctx.session, data.order, lock=True)
    _require(order, (m.PARTIALLY_SHIPPED, m.SHIPPED, m.PARTIALLY_RETURNED), "returned")
    picked = _pick(order, data.lines, lambda ln: ln.qty_shipped - ln.qty_returned, "returned")
    if not picked:
        raise Conflict(f"order {order.number} has nothing left to return", code="nothing_to_return",
                       details=[{"field": "lines", "status": order.status}])
    post_moves(ctx, [Move(ln.sku_id, order.warehouse_id, inv.RETURN, on_hand=q, sku_code=ln.sku_code,
                          reason=data.reason) for ln, q in picked], DOC_TYPE, order.number, create=True)
    amount = ZERO
    for line, qty in picked:
        line.qty_returned += qty
        amount += _amount(qty, line.unit_price)
    doc = _doc_lines(picked)
    refund = Refund(order_id=order.id, amount=amount, reason=data.reason, lines=json.dumps(doc),
                    created_by=ctx.actor, created_at=ctx.now)
    order.refunds.append(refund)
    order.refunded_amount += amount
    _touch(ctx, order, _goods_status(order))
    ctx.session.flush()
    ctx.emit("order.returned", {"order_id": order.id, "number": order.number, "refund_id": refund.id,
                                "amount": format_money(amount), "status": order.status, "lines": doc, "by": ctx.actor})
    return _out(order)


# --- the scheduled job -------------------------------------------------------------------

JOB = "job-cancel-unpaid-orders"


def _cancel_unpaid(order_id: int, minutes: int) -> str | None:
    """Cancel one unpaid order in its own transaction; None if it was paid or cancelled meanwhile."""

    def work(session: Session) -> tuple[str | None, Context]:
        ctx = Context(session=session, principal=None, request_id=uuid.uuid4().hex, now=utcnow(), operation=JOB)
        order = _load(session, order_id, lock=True)
        if order.status != m.PENDING_PAYMENT:
            return None, ctx
        _cancel(ctx, order, f"unpaid after {minutes} minutes")
        return order.number, ctx

    number, ctx = run_in_transaction(work)
    ctx.committed()
    return number


def cancel_unpaid_orders() -> JobRunOut:
    """Cancel orders left unpaid longer than ``ERP_UNPAID_ORDER_MINUTES`` (30) and release their stock.

    Each order is cancelled in its own transaction, so one failure does not block the rest; the
    run log records how many were cancelled and every error.
    """

    def work() -> dict[str, Any]:
        minutes = get_settings().unpaid_order_minutes
        cutoff = utcnow() - timedelta(minutes=minutes)
        with transaction() as session:
            ids = session.scalars(
                select(SalesOrder.id).where(SalesOrder.status == m.PENDING_PAYMENT, SalesOrder.created_at < cutoff)
                .order_by(SalesOrder.id).limit(1000)
            ).all()
        cancelled, errors = [], []
        for order_id in ids:
            try:
                number = _cancel_unpaid(order_id, minutes)
            except Exception as exc:  # keep going: the next run tries this one again
                log.exception("%s: could not cancel order %s", JOB, order_id)
                errors.append({"order_id": order_id, "error": f"{exc.__class__.__name__}: {exc}"[:500]})
                continue
            if number:
                cancelled.append(number)
        return {"processed": len(cancelled), "found": len(ids), "cancelled": cancelled[:200],
                "errors": errors[:100], "older_than_minutes": minutes}

    return run_job(JOB, work)
