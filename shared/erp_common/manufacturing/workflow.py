"""The work order workflow: every change of a work order's status goes through this table."""
from __future__ import annotations

from ..workflow import Transition, Workflow
from .models import CANCELLED, DONE, DRAFT, IN_PROGRESS, RELEASED, STATUSES

WORK_ORDER_WORKFLOW = Workflow("work order", STATUSES, [
    Transition("release", (DRAFT,), (RELEASED,)),  # reserves the components
    # A completion leaves the work order in progress (partial) or done.
    Transition("complete", (RELEASED, IN_PROGRESS), (IN_PROGRESS, DONE)),
    Transition("cancel", (DRAFT, RELEASED, IN_PROGRESS), (CANCELLED,)),  # releases what is still reserved
])
