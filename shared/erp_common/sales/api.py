"""The sales domain's public face: its events, the order workflow and the prices its lines sold at."""
from __future__ import annotations

from .events import OrderCancelled, OrderCreated, OrderLineRef, OrderPaid, OrderReturned, OrderShipped, PricedLine
from .services import LINE_ORIGIN, line_prices
from .workflow import ORDER_WORKFLOW

__all__ = ["LINE_ORIGIN", "ORDER_WORKFLOW", "OrderCancelled", "OrderCreated", "OrderLineRef", "OrderPaid",
           "OrderReturned", "OrderShipped", "PricedLine", "line_prices"]
