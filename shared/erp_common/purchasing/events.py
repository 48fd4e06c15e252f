"""Purchasing's events: a supplier created."""
from __future__ import annotations

from ..events import DomainEvent
from ..schemas import Id


class SupplierCreated(DomainEvent):
    event_type = "supplier.created"

    supplier_id: Id
    code: str
    name: str
    by: str
