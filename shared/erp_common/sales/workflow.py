"""The order workflow: every change of an order's status goes through this table."""
from __future__ import annotations

from ..workflow import Transition, Workflow
from .models import (
    CANCELLED,
    PAID,
    PARTIALLY_RETURNED,
    PARTIALLY_SHIPPED,
    PENDING_PAYMENT,
    RETURNED,
    SHIPPED,
    STATUSES,
)

ORDER_WORKFLOW = Workflow("order", STATUSES, [
    Transition("pay", (PENDING_PAYMENT,), (PAID,)),
    # A shipment leaves the order partially or fully shipped (or still partially returned).
    Transition("ship", (PAID, PARTIALLY_SHIPPED, PARTIALLY_RETURNED),
               (PARTIALLY_SHIPPED, SHIPPED, PARTIALLY_RETURNED)),
    Transition("cancel", (PENDING_PAYMENT, PAID), (CANCELLED,)),
    Transition("return", (PARTIALLY_SHIPPED, SHIPPED, PARTIALLY_RETURNED), (PARTIALLY_RETURNED, RETURNED)),
])
