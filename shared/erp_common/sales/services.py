"""Sales services: create (price and reserve), pay, ship, cancel and return orders; cancel unpaid ones.

An order is created in one unit of work: prices come from the catalog (a client ``unit_price``
that differs is refused) and go through the promotion domain's pricing engine (the same as
``price-quote``: promotions, coupon, points; each line keeps its discounts), the order and its
lines are written, and every line is reserved by
posting one stock document to the inventory ledger, or the whole unit rolls back (409 listing
each short SKU with what is available); ``order.created`` and the ledger's ``stock.changed``
go to the outbox. Every later change locks the order row first (``SELECT ... FOR UPDATE``), then
its stock rows in SKU order, so two changes of one order queue and a change can never deadlock
with a create. Statuses move only through ``ORDER_WORKFLOW`` (sales/workflow.py).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from .. import metrics, uow
from ..catalog.api import ON_SALE, SkuInfo, find_skus
from ..config import get_settings
from ..context import Caller, Context
from ..db import ZERO
from ..errors import Conflict, ErpError, NotFound, ValidationFailed
from ..inventory import api as inventory
from ..jobs.api import JobRunOut, run_job
from ..paging import paginate, within
from ..prepared import Prepared
from ..promotion import api as promotion
from ..schemas import Page, format_money, format_quantity
from . import models as m
from .events import OrderCancelled, OrderCreated, OrderLineRef, OrderPaid, OrderReturned, OrderShipped, PricedLine
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
from .workflow import ORDER_WORKFLOW

log = logging.getLogger(__name__)
DOC_TYPE = "sales_order"
LINE_ORIGIN = "sales_order_line"
_orders = SalesOrder.__table__
_lines = SalesOrderLine.__table__
# The order path's own statements, prepared once (erp_common.prepared): the values go in as parameters.
_INSERT_ORDER = Prepared(insert(_orders))
_SET_NUMBER = Prepared(update(_orders).where(_orders.c.id == bindparam("order_id")).values(number=bindparam("number")))
_INSERT_LINES = Prepared(insert(_lines))


def _line_field(i: int) -> str:
    return f"lines[{i}].sku"


def _check_lines(data: OrderCreateIn, skus: list[SkuInfo]) -> None:
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


def _post(ctx: Context, order_id: int, number: str, warehouse_id: int, kind: str,
          picked: list[tuple[int, int, str, Decimal]], reason: str = "",
          field_of: Callable[[int], str] = _line_field) -> inventory.Posting:
    """Post the stock document of an order: one line per (line_no, sku_id, sku_code, quantity)."""
    doc = inventory.StockDocument(DOC_TYPE, number, [
        inventory.StockLine(sku_id, warehouse_id, kind, qty, sku_code=code, origin_type=LINE_ORIGIN,
                            origin_id=f"{order_id}/{line_no}")
        for line_no, sku_id, code, qty in picked], reason=reason[:255])
    try:
        return inventory.post_stock(ctx, doc)
    except ErpError as exc:
        raise exc.locate(field_of) from None


def _adjustments_json(line: promotion.PricedLine) -> str | None:
    if not line.adjustments:
        return None
    return json.dumps([promotion.adjustment_out(a).model_dump(mode="json") for a in line.adjustments])


def create_order(ctx: Context, data: OrderCreateIn) -> OrderOut:
    """Create an order: price every line (catalog prices through the pricing engine: promotions,
    coupon, points, as ``price-quote`` does) and reserve all of them, or none.

    A short line answers 409 ``insufficient_stock`` listing each short SKU with its available
    quantity; a ``unit_price`` that differs from the catalog price answers 409 ``price_mismatch``
    naming the line. With an ``Idempotency-Key`` a retry returns the first order.
    """
    session, now = ctx.session, ctx.now
    warehouse_id = inventory.resolve_warehouse(session, data.warehouse_id)
    try:
        skus = find_skus(session, [ln.sku for ln in data.lines])
    except ErpError as exc:
        raise exc.locate(_line_field) from None
    _check_lines(data, skus)
    quote = promotion.price_order(ctx, skus, [ln.qty for ln in data.lines], member_id=data.customer_id,
                                  coupon_code=data.coupon, points=data.points)
    lines = [
        {"line_no": i + 1, "sku_id": sku.id, "sku_code": sku.code, "unit_price": sku.price, "quantity": line.qty,
         "list_amount": pl.list_amount, "discount_amount": pl.discount, "amount": pl.amount,
         "promotions": _adjustments_json(pl), "qty_shipped": ZERO, "qty_returned": ZERO, "qty_released": ZERO}
        for i, (sku, line, pl) in enumerate(zip(skus, data.lines, quote.priced.lines, strict=True))
    ]
    total = sum((ln["amount"] for ln in lines), ZERO)
    row = {"customer_id": data.customer_id, "warehouse_id": warehouse_id, "status": m.PENDING_PAYMENT,
           "total_amount": total, "discount_amount": quote.priced.subtotal - total,
           "coupon_code": quote.coupon.code if quote.coupon and quote.priced.coupon_discount else None,
           "points_redeemed": quote.priced.points_used, "paid_amount": ZERO, "refunded_amount": ZERO,
           "note": data.note, "created_by": ctx.actor, "created_at": now, "updated_at": now}
    # The order is written first and its stock reserved after: a refused reservation rolls the
    # whole unit of work back, so a refused order leaves nothing behind (but an unused id).
    order_id = _INSERT_ORDER.insert(session, row)
    number = order_number(order_id, now)
    _SET_NUMBER.run(session, {"order_id": order_id, "number": number})
    _INSERT_LINES.run_many(session, [{"order_id": order_id, **ln} for ln in lines])
    promotion.record_order(ctx, quote, order_id)  # promotion uses, the coupon used, points redeemed
    _post(ctx, order_id, number, warehouse_id, inventory.RESERVE,
          [(ln["line_no"], ln["sku_id"], ln["sku_code"], ln["quantity"]) for ln in lines],
          field_of=lambda i: f"lines[{i}].qty")
    ctx.after_commit.append(metrics.ORDERS_CREATED.inc)  # counted once committed, not per retried attempt
    ctx.emit(OrderCreated(
        order_id=order_id, number=number, customer_id=data.customer_id, warehouse_id=warehouse_id,
        total_amount=total, by=ctx.actor,
        lines=[PricedLine(line_no=ln["line_no"], sku_id=ln["sku_id"], sku_code=ln["sku_code"], qty=ln["quantity"],
                          unit_price=ln["unit_price"], amount=ln["amount"]) for ln in lines]))
    return OrderOut(**row, id=order_id, number=number, amount_due=total, paid_at=None, cancelled_at=None,
                    cancel_reason=None, lines=[OrderLineOut(**ln) for ln in lines])


# --- reading orders ----------------------------------------------------------------------

def _load(session: Session, ref: int | str, *, lock: bool = False) -> SalesOrder:
    """The order with this id or number (the number carries the id: read by the primary key)."""
    digits = isinstance(ref, str) and ref.isascii() and ref.isdigit()
    order_id = ref if isinstance(ref, int) else int(ref) if digits else order_id_from_number(ref)
    if order_id is not None and order_id > 2_147_483_647:
        order_id = None
    order = None
    if order_id is not None:
        query = select(SalesOrder).where(SalesOrder.id == order_id)
        if lock:
            query = query.with_for_update()
        order = session.scalars(query).one_or_none()
    if order is not None and isinstance(ref, str) and not digits and order.number != ref:
        order = None  # the id exists but it is not that order's number
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
        discount_amount=order.discount_amount, coupon_code=order.coupon_code, points_redeemed=order.points_redeemed,
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

def _move(ctx: Context, order: SalesOrder, action: str, to: str | None = None) -> None:
    ORDER_WORKFLOW.apply(order, action, to, label=order.number)
    order.updated_at = ctx.now


def pay_order(ctx: Context, data: OrderPayIn) -> OrderOut:
    """Record the payment of an order; the amount must equal the amount due (409 otherwise)."""
    order = _load(ctx.session, data.order, lock=True)
    ORDER_WORKFLOW.check(order.status, "pay", label=order.number)
    if data.amount != order.amount_due:
        raise Conflict(f"the amount {format_money(data.amount)} is not the amount due {format_money(order.amount_due)}",
                       code="amount_mismatch",
                       details=[{"field": "amount", "amount": format_money(data.amount),
                                 "amount_due": format_money(order.amount_due)}])
    order.payments.append(Payment(order_id=order.id, amount=data.amount, method=data.method,
                                  reference=data.reference, created_by=ctx.actor, created_at=ctx.now))
    order.paid_amount += data.amount
    order.paid_at = ctx.now
    _move(ctx, order, "pay")
    ctx.session.flush()
    ctx.emit(OrderPaid(order_id=order.id, number=order.number, customer_id=order.customer_id, amount=data.amount,
                       method=data.method, by=ctx.actor))
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


def _refs(picked: list[tuple[SalesOrderLine, Decimal]]) -> list[OrderLineRef]:
    return [OrderLineRef(line_no=ln.line_no, sku_id=ln.sku_id, sku_code=ln.sku_code, qty=q) for ln, q in picked]


def _picked_stock(picked: list[tuple[SalesOrderLine, Decimal]]) -> list[tuple[int, int, str, Decimal]]:
    return [(ln.line_no, ln.sku_id, ln.sku_code, q) for ln, q in picked]


def _picked_qty_field(i: int) -> str:
    """Where a shortage on the i-th picked line points: the quantity the caller asked for."""
    return f"lines[{i}].qty"


def ship_order(ctx: Context, data: OrderShipIn) -> OrderOut:
    """Ship a paid order, wholly or in part: the reserved stock becomes a sale (issued from stock)."""
    order = _load(ctx.session, data.order, lock=True)
    ORDER_WORKFLOW.check(order.status, "ship", label=order.number)
    picked = _pick(order, data.lines, lambda ln: ln.qty_reserved, "shipped")
    if not picked:
        raise Conflict(f"order {order.number} has nothing left to ship", code="nothing_to_ship",
                       details=[{"field": "lines", "status": order.status}])
    _post(ctx, order.id, order.number, order.warehouse_id, inventory.SALE, _picked_stock(picked),
          field_of=_picked_qty_field)
    for line, qty in picked:
        line.qty_shipped += qty
    refs = _refs(picked)
    shipment = Shipment(order_id=order.id, lines=json.dumps([r.model_dump(mode="json") for r in refs]),
                        created_by=ctx.actor, created_at=ctx.now)
    order.shipments.append(shipment)
    _move(ctx, order, "ship", _goods_status(order))
    ctx.session.flush()
    ctx.emit(OrderShipped(order_id=order.id, number=order.number, shipment_id=shipment.id, status=order.status,
                          lines=refs, by=ctx.actor))
    return _out(order)


def _cancel(ctx: Context, order: SalesOrder, reason: str) -> None:
    ORDER_WORKFLOW.check(order.status, "cancel", label=order.number)
    if order.coupon_code or order.points_redeemed:
        # before the stock rows, as order-create takes them: coupon and member, then stock
        promotion.release_order(ctx, order.id, order.customer_id)
    picked = [(ln, ln.qty_reserved) for ln in order.lines if ln.qty_reserved > 0]
    if picked:
        _post(ctx, order.id, order.number, order.warehouse_id, inventory.RELEASE, _picked_stock(picked), reason)
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
    _move(ctx, order, "cancel")
    ctx.session.flush()
    ctx.emit(OrderCancelled(order_id=order.id, number=order.number, reason=reason, released=_refs(picked),
                            refund_id=refund.id if refund else None, by=ctx.actor, customer_id=order.customer_id,
                            refunded_total=order.refunded_amount))


def cancel_order(ctx: Context, data: OrderCancelIn) -> OrderOut:
    """Cancel an order that has not shipped: release what is reserved, refund what was paid."""
    order = _load(ctx.session, data.order, lock=True)
    _cancel(ctx, order, data.reason or "cancelled")
    return _out(order)


def return_order(ctx: Context, data: OrderReturnIn) -> OrderOut:
    """Take back shipped goods: the quantities go back into stock and a refund is recorded."""
    order = _load(ctx.session, data.order, lock=True)
    ORDER_WORKFLOW.check(order.status, "return", label=order.number)
    picked = _pick(order, data.lines, lambda ln: ln.qty_shipped - ln.qty_returned, "returned")
    if not picked:
        raise Conflict(f"order {order.number} has nothing left to return", code="nothing_to_return",
                       details=[{"field": "lines", "status": order.status}])
    _post(ctx, order.id, order.number, order.warehouse_id, inventory.RETURN, _picked_stock(picked), data.reason,
          field_of=_picked_qty_field)
    amount = ZERO
    for line, qty in picked:  # each line refunds its share of what it cost after its discounts
        amount += promotion.refund_share(line.amount, line.quantity, line.qty_returned, qty)
        line.qty_returned += qty
    refs = _refs(picked)
    refund = Refund(order_id=order.id, amount=amount, reason=data.reason,
                    lines=json.dumps([r.model_dump(mode="json") for r in refs]), created_by=ctx.actor,
                    created_at=ctx.now)
    order.refunds.append(refund)
    order.refunded_amount += amount
    _move(ctx, order, "return", _goods_status(order))
    if order.status == m.RETURNED and (order.coupon_code or order.points_redeemed):
        promotion.release_order(ctx, order.id, order.customer_id)  # the coupon and points come back
    ctx.session.flush()
    ctx.emit(OrderReturned(order_id=order.id, number=order.number, customer_id=order.customer_id,
                           refund_id=refund.id, amount=amount, refunded_total=order.refunded_amount,
                           status=order.status, lines=refs, by=ctx.actor))
    return _out(order)


def line_prices(session: Session, origin_ids: list[str]) -> dict[str, Decimal]:
    """The unit price of order lines named as the stock ledger names them (``"<order id>/<line no>"``)."""
    keys = {}
    for origin in set(origin_ids):
        order_id, _, line_no = origin.partition("/")
        if order_id.isdigit() and line_no.isdigit():
            keys[(int(order_id), int(line_no))] = origin
    prices: dict[str, Decimal] = {}
    order_ids = sorted({k[0] for k in keys})
    for start in range(0, len(order_ids), 500):  # bounded IN lists
        rows = session.execute(select(_lines.c.order_id, _lines.c.line_no, _lines.c.unit_price)
                               .where(_lines.c.order_id.in_(order_ids[start:start + 500])))
        for row in rows:
            if (row.order_id, row.line_no) in keys:
                prices[keys[(row.order_id, row.line_no)]] = row.unit_price
    return prices


# --- the scheduled job -------------------------------------------------------------------

def cancel_unpaid_orders(caller: Caller) -> JobRunOut:
    """Cancel orders left unpaid longer than ``ERP_UNPAID_ORDER_MINUTES`` (30) and release their stock.

    Each order is cancelled in its own unit of work, so one failure does not block the rest; the
    run log records how many were cancelled and every error.
    """
    minutes = get_settings().unpaid_order_minutes

    def due(ctx: Context) -> list[int]:
        cutoff = ctx.now - timedelta(minutes=minutes)
        return list(ctx.session.scalars(
            select(SalesOrder.id).where(SalesOrder.status == m.PENDING_PAYMENT, SalesOrder.created_at < cutoff)
            .order_by(SalesOrder.id).limit(1000)))

    def cancel_one(order_id: int) -> Callable[[Context], str | None]:
        def work(ctx: Context) -> str | None:  # None: it was paid or cancelled meanwhile
            order = _load(ctx.session, order_id, lock=True)
            if order.status != m.PENDING_PAYMENT:
                return None
            _cancel(ctx, order, f"unpaid after {minutes} minutes")
            return order.number
        return work

    def work() -> dict[str, Any]:
        ids = uow.run(due, caller, readonly=True)
        cancelled, errors = [], []
        for order_id in ids:
            try:
                number = uow.run(cancel_one(order_id), caller)
            except Exception as exc:  # keep going: the next run tries this one again
                log.exception("%s: could not cancel order %s", caller.operation, order_id)
                errors.append({"order_id": order_id, "error": f"{exc.__class__.__name__}: {exc}"[:500]})
                continue
            if number:
                cancelled.append(number)
        return {"processed": len(cancelled), "found": len(ids), "cancelled": cancelled[:200],
                "errors": errors[:100], "older_than_minutes": minutes}

    return run_job(caller, work)
