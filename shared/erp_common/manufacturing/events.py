"""Manufacturing's events: a work order released, completed (wholly or in part), cancelled."""
from __future__ import annotations

from ..events import DomainEvent
from ..schemas import Id, Money, Quantity


class WorkOrderReleased(DomainEvent):
    event_type = "workorder.released"

    wo_id: Id
    number: str
    sku_id: Id
    sku_code: str
    quantity: Quantity
    bom_id: Id
    by: str


class WorkOrderCompleted(DomainEvent):
    event_type = "workorder.completed"

    wo_id: Id
    number: str
    sku_id: Id
    sku_code: str
    quantity: Quantity  # made by this completion
    unit_cost: Money  # components issued per unit plus labour and overhead
    status: str
    by: str


class WorkOrderCancelled(DomainEvent):
    event_type = "workorder.cancelled"

    wo_id: Id
    number: str
    reason: str
    by: str
