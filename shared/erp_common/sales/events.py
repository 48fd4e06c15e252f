"""The sales domain's events: an order created, paid, shipped, cancelled or returned."""
from __future__ import annotations

from ..events import DomainEvent, EventPart
from ..schemas import Id, Money, Quantity


class OrderLineRef(EventPart):
    line_no: int
    sku_id: Id
    sku_code: str
    qty: Quantity


class PricedLine(OrderLineRef):
    unit_price: Money
    amount: Money


class OrderCreated(DomainEvent):
    event_type = "order.created"

    order_id: Id
    number: str
    customer_id: Id | None
    warehouse_id: Id
    total_amount: Money
    lines: list[PricedLine]
    by: str


class OrderPaid(DomainEvent):
    event_type = "order.paid"

    order_id: Id
    number: str
    customer_id: Id | None
    amount: Money
    method: str
    by: str


class OrderShipped(DomainEvent):
    event_type = "order.shipped"

    order_id: Id
    number: str
    shipment_id: Id
    status: str
    lines: list[OrderLineRef]
    by: str


class OrderCancelled(DomainEvent):
    event_type = "order.cancelled"

    order_id: Id
    number: str
    reason: str
    released: list[OrderLineRef]
    refund_id: Id | None
    by: str
    # Added later (events written before lack them): the member, and the order's refunds so far
    # (a paid order's cancel refunds everything paid).
    customer_id: Id | None = None
    refunded_total: Money | None = None


class OrderReturned(DomainEvent):
    event_type = "order.returned"

    order_id: Id
    number: str
    customer_id: Id | None
    refund_id: Id
    amount: Money
    # The order's refunds so far, this one included: consumers keep the largest seen, so returns
    # delivered twice or out of order add up right. (Added later: events written before lack it.)
    refunded_total: Money | None = None
    status: str
    lines: list[OrderLineRef]
    by: str
