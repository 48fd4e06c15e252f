"""The inventory's events: every posting to the stock ledger, and new warehouses.

``stock.changed`` (version 2) is emitted once per posting, whatever caused it (an order's
reservation, release, sale or return, a receipt, an issue, a transfer, a count): costing and
replenishment follow stock by subscribing to it. Version 1 (no per-line origin, balances or
reserved quantities) was emitted only by the stock functions and had no consumer.
"""
from __future__ import annotations

from ..events import DomainEvent, EventPart
from ..schemas import Id, Quantity


class StockLineChange(EventPart):
    sku_id: Id
    sku_code: str
    warehouse_id: Id
    kind: str
    qty_on_hand: Quantity
    qty_reserved: Quantity
    on_hand_after: Quantity
    reserved_after: Quantity
    origin_type: str | None = None
    origin_id: str | None = None


class StockChanged(DomainEvent):
    event_type = "stock.changed"
    event_version = 2

    doc_type: str
    doc_id: str
    reason: str
    by: str
    lines: list[StockLineChange]


class WarehouseCreated(DomainEvent):
    event_type = "warehouse.created"

    warehouse_id: Id
    code: str
    by: str
