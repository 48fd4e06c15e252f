"""Manufacturing's public face: its events and the work order workflow."""
from __future__ import annotations

from .events import WorkOrderCancelled, WorkOrderCompleted, WorkOrderReleased
from .workflow import WORK_ORDER_WORKFLOW

__all__ = ["WORK_ORDER_WORKFLOW", "WorkOrderCancelled", "WorkOrderCompleted", "WorkOrderReleased"]
