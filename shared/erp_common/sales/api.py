"""The sales domain's public face: its events and the order workflow."""
from __future__ import annotations

from .events import OrderCancelled, OrderCreated, OrderLineRef, OrderPaid, OrderReturned, OrderShipped, PricedLine
from .workflow import ORDER_WORKFLOW

__all__ = ["ORDER_WORKFLOW", "OrderCancelled", "OrderCreated", "OrderLineRef", "OrderPaid", "OrderReturned",
           "OrderShipped", "PricedLine"]
