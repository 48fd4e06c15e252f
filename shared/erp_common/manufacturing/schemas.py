"""Manufacturing inputs and outputs: BOMs, work orders, the production plan, replenishment.

A SKU is named by its id (a JSON number) or its code (a string). Quantities per unit and scrap
percentages keep 4 places; a work order needs, of each component, quantity x qty_per_unit x
(1 + scrap_pct / 100), rounded up to 4 places (a part is never short by a rounding).
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, model_validator

from ..catalog.api import SkuRef
from ..schemas import (
    Day,
    Id,
    Input,
    Line,
    Money,
    NonNegativeMoney,
    Output,
    PageQuery,
    PositiveQuantity,
    Quantity,
    Text,
    UtcDateTime,
)
from .models import STATUSES

Status = Literal[STATUSES]  # type: ignore[valid-type]
Percent = Annotated[Money, Field(ge=0, lt=100)]


class ComponentIn(Input):
    sku: SkuRef = Field(validation_alias=AliasChoices("sku", "sku_id", "sku_code"),
                        description="the component SKU, id (number) or code (string)")
    qty_per_unit: PositiveQuantity = Field(validation_alias=AliasChoices("qty_per_unit", "qty", "quantity"))
    scrap_pct: Percent = Field(0, description="% lost in making (5: 5% more is used)")


Components = Annotated[list[ComponentIn], Field(min_length=1, max_length=500)]


class BomCreateIn(Input):
    sku: SkuRef = Field(description="the finished SKU, id (number) or code (string)")
    components: Components
    labour_cost: NonNegativeMoney = Field(0, description="per unit made")
    overhead_cost: NonNegativeMoney = Field(0, description="per unit made")
    note: Annotated[Text, Field(max_length=255)] = ""


class BomRefIn(Input):
    bom: Id = Field(description="the BOM (one version of it), in the path or the body")


class BomUpdateIn(BomRefIn):
    """Writes a new version of the SKU's BOM from the fields given (the rest as in ``bom``)."""

    components: Components | None = None
    labour_cost: NonNegativeMoney | None = None
    overhead_cost: NonNegativeMoney | None = None
    note: Annotated[Text, Field(max_length=255)] | None = None


class BomListIn(PageQuery):
    sku: Annotated[Line, Field(min_length=1, max_length=64)] | None = Field(
        None, description="the BOMs of this finished SKU (digits: its id, else its code)")
    all_versions: bool = Field(False, description="false: only each SKU's current version")


class ComponentOut(Output):
    line_no: int
    sku_id: int
    sku_code: str
    qty_per_unit: Quantity
    scrap_pct: Money


class BomSummaryOut(Output):
    id: int
    sku_id: int
    sku_code: str
    version: int
    is_current: bool
    labour_cost: Money
    overhead_cost: Money
    created_by: str
    created_at: UtcDateTime


class BomOut(BomSummaryOut):
    note: str
    components: list[ComponentOut]


# --- work orders ---------------------------------------------------------------------------

class WorkOrderCreateIn(Input):
    sku: SkuRef = Field(description="the SKU to make, id (number) or code (string)")
    quantity: PositiveQuantity = Field(validation_alias=AliasChoices("quantity", "qty"))
    bom_id: Id | None = Field(None, description="the BOM version to make it with; default: the SKU's current one")
    warehouse_id: Id | None = Field(None, description="components from and goods into; default: the default one")
    due_date: Day | None = None
    note: Annotated[Text, Field(max_length=255)] = ""


class WorkOrderRefIn(Input):
    wo: Id | Annotated[Line, Field(min_length=1, max_length=32)] = Field(
        description="the work order id or number (WO...), in the path or the body")


class WorkOrderCompleteIn(WorkOrderRefIn):
    qty: PositiveQuantity | None = Field(None, validation_alias=AliasChoices("qty", "quantity"),
                                         description="made this time; default: all that is left")


class WorkOrderCancelIn(WorkOrderRefIn):
    reason: Annotated[Line, Field(max_length=255)] = ""


class WorkOrderListIn(PageQuery):
    status: Status | None = None
    sku: Annotated[Line, Field(min_length=1, max_length=64)] | None = Field(
        None, description="work orders making this SKU (digits: its id, else its code)")
    date_from: UtcDateTime | None = Field(None, description="created at or after")
    date_to: UtcDateTime | None = Field(None, description="created before")


class WoComponentOut(Output):
    line_no: int
    sku_id: int
    sku_code: str
    qty_required: Quantity
    qty_reserved: Quantity
    qty_issued: Quantity


class CompletionOut(Output):
    id: int
    quantity: Quantity
    unit_cost: Money
    components: list[dict]
    created_by: str
    created_at: UtcDateTime


class WorkOrderSummaryOut(Output):
    id: int
    number: str
    sku_id: int
    sku_code: str
    bom_id: int
    warehouse_id: int
    quantity: Quantity
    qty_done: Quantity
    status: str
    due_date: dt.date | None
    created_by: str
    created_at: UtcDateTime


class WorkOrderOut(WorkOrderSummaryOut):
    note: str
    updated_at: UtcDateTime
    released_at: UtcDateTime | None
    ended_at: UtcDateTime | None
    allowed_actions: list[str]
    components: list[WoComponentOut]
    completions: list[CompletionOut] = []


# --- the production plan -------------------------------------------------------------------

class DemandIn(Input):
    sku: SkuRef = Field(validation_alias=AliasChoices("sku", "sku_id", "sku_code"))
    qty: PositiveQuantity = Field(validation_alias=AliasChoices("qty", "quantity"))
    date: Day = Field(description="when the goods are needed")


class PlanIn(Input):
    work_orders: Annotated[list[Id | Annotated[Line, Field(min_length=1, max_length=32)]],
                           Field(max_length=200)] = Field(
        [], description="draft work orders to plan (ids or numbers): their components are needed")
    demand: Annotated[list[DemandIn], Field(max_length=500)] = Field(
        [], description="finished goods wanted: netted against their own stock first")
    warehouse_id: Id | None = Field(None, description="the stock netted against; default: the default warehouse")
    create_pos: bool = Field(False, description="true: draft POs for the shortages, one per preferred supplier")

    @model_validator(mode="after")
    def _something_to_plan(self) -> PlanIn:
        if not self.work_orders and not self.demand:
            raise ValueError("name work_orders or a demand list")
        return self


class PlanLine(Output):
    sku_id: int
    sku_code: str
    level: int = Field(description="0: the goods demanded; 1: their components; 2: theirs...")
    action: Literal["make", "buy"] = Field(description="make: it has a BOM (exploded further); buy: it has none")
    required: Quantity = Field(description="gross requirement")
    available: Quantity
    on_order: Quantity = Field(description="still to come on open POs")
    shortage: Quantity = Field(description="required - available - on_order, when positive")
    needed_by: dt.date
    supplier_id: int | None = None
    order_by: dt.date | None = Field(None, description="needed_by less the preferred supplier's lead time")


class PlannedPo(Output):
    po_id: int
    number: str
    supplier_id: int
    lines: int
    total_amount: Money


class PlanOut(Output):
    warehouse_id: int
    lines: list[PlanLine] = Field(description="every SKU of the explosion, level by level")
    shortages: list[PlanLine] = Field(description="what must be bought (no BOM) and is short")
    without_supplier: list[PlanLine] = Field(description="shortages with no preferred supplier: listed, no PO")
    purchase_orders: list[PlannedPo] = []
