"""Purchasing's events: a supplier created, a purchase order approved, goods received."""
from __future__ import annotations

from ..events import DomainEvent, EventPart
from ..schemas import Id, Money, Quantity


class SupplierCreated(DomainEvent):
    event_type = "supplier.created"

    supplier_id: Id
    code: str
    name: str
    by: str


class PoLineRef(EventPart):
    line_no: int
    sku_id: int
    sku_code: str
    qty: Quantity
    unit_cost: Money


class PoApproved(DomainEvent):
    event_type = "po.approved"

    po_id: Id
    number: str
    supplier_id: Id
    warehouse_id: Id
    total_amount: Money
    lines: list[PoLineRef]
    by: str


class PoReceived(DomainEvent):
    event_type = "po.received"

    po_id: Id
    number: str
    supplier_id: Id
    warehouse_id: Id
    receipt_id: Id
    status: str
    lines: list[PoLineRef]  # what this receipt brought in
    by: str
