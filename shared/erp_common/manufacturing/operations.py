"""The manufacturing functions (service ``production``) and the replenishment job (service ``job``).

``planner`` and ``manager`` make (BOMs, work orders, the plan); ``warehouse`` also completes work
orders; ``purchaser`` and ``accountant`` read. The plan with ``create_pos`` makes draft POs.
"""
from __future__ import annotations

from ..jobs.api import JobRunOut
from ..operations import CONNECTOR, operation
from ..schemas import Page
from . import services
from .schemas import (
    BomCreateIn,
    BomListIn,
    BomOut,
    BomRefIn,
    BomSummaryOut,
    BomUpdateIn,
    PlanIn,
    PlanOut,
    WorkOrderCancelIn,
    WorkOrderCompleteIn,
    WorkOrderCreateIn,
    WorkOrderListIn,
    WorkOrderOut,
    WorkOrderRefIn,
    WorkOrderSummaryOut,
)

MAKERS = ("admin", "manager", "planner")
READERS = MAKERS + ("purchaser", "accountant", "warehouse")
BOM_PATH, WO_PATH = "/{bom}", "/{wo}"

operation(
    "bom-create", service="production", summary="The first BOM of a finished SKU", input=BomCreateIn,
    output=BomOut, roles=MAKERS, status=201, idempotent=True,
)(services.create_bom)
operation(
    "bom-get", service="production", summary="One BOM version with its components", input=BomRefIn, output=BomOut,
    roles=READERS, methods=("GET",), path=BOM_PATH,
)(services.get_bom)
operation(
    "bom-list", service="production", summary="BOMs by finished SKU (current versions or all)", input=BomListIn,
    output=Page[BomSummaryOut], roles=READERS, methods=("GET",),
)(services.list_boms)
operation(
    "bom-update", service="production", summary="A new version of a SKU's BOM (work orders keep theirs)",
    input=BomUpdateIn, output=BomOut, roles=MAKERS, status=201, path=BOM_PATH,
)(services.update_bom)
operation(
    "workorder-create", service="production", summary="A draft work order (SKU, quantity, BOM, warehouse)",
    input=WorkOrderCreateIn, output=WorkOrderOut, roles=MAKERS, status=201, idempotent=True,
)(services.create_work_order)
operation(
    "workorder-release", service="production", summary="Reserve every component, or 409 listing the shortages",
    input=WorkOrderRefIn, output=WorkOrderOut, roles=MAKERS, idempotent=True, path=WO_PATH,
)(services.release_work_order)
operation(
    "workorder-complete", service="production",
    summary="Make all or part: issue components, receive goods at the rolled-up cost",
    input=WorkOrderCompleteIn, output=WorkOrderOut, roles=MAKERS + ("warehouse",), idempotent=True, path=WO_PATH,
)(services.complete_work_order)
operation(
    "workorder-cancel", service="production", summary="Cancel a work order and release what is reserved",
    input=WorkOrderCancelIn, output=WorkOrderOut, roles=MAKERS, path=WO_PATH,
)(services.cancel_work_order)
operation(
    "workorder-get", service="production", summary="One work order by id or number", input=WorkOrderRefIn,
    output=WorkOrderOut, roles=READERS, methods=("GET",), path=WO_PATH,
)(services.get_work_order)
operation(
    "workorder-list", service="production", summary="List work orders by status, SKU and dates",
    input=WorkOrderListIn, output=Page[WorkOrderSummaryOut], roles=READERS, methods=("GET",),
)(services.list_work_orders)
operation(
    "production-plan", service="production",
    summary="Explode BOMs, net against stock and open POs, list shortages; draft POs on request",
    input=PlanIn, output=PlanOut, roles=MAKERS, idempotent=True,
)(services.plan_production)
operation(
    "job-replenish", service="job", summary="Draft POs for SKUs below their low-stock threshold (daily)",
    output=JobRunOut, roles=CONNECTOR, schedule="0 2 * * *", transactional=False,
)(services.replenish)
