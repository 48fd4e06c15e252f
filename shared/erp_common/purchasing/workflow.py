"""The purchase order workflow: every change of a PO's status goes through this table."""
from __future__ import annotations

from ..workflow import Transition, Workflow
from .models import APPROVED, CANCELLED, CLOSED, DRAFT, PARTIALLY_RECEIVED, RECEIVED, STATUSES

PO_WORKFLOW = Workflow("purchase order", STATUSES, [
    Transition("update", (DRAFT,), (DRAFT,)),  # only a draft may be edited
    Transition("approve", (DRAFT,), (APPROVED,)),
    # A receipt leaves the PO partially or fully received.
    Transition("receive", (APPROVED, PARTIALLY_RECEIVED), (PARTIALLY_RECEIVED, RECEIVED)),
    Transition("close", (PARTIALLY_RECEIVED,), (CLOSED,)),  # the rest will not come
    Transition("cancel", (DRAFT, APPROVED), (CANCELLED,)),  # only before any receipt
])
