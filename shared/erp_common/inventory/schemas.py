"""Inventory inputs and outputs.

A SKU is named by its id (a JSON number) or its code (a JSON string), everywhere: ``"sku": 12``
or ``"sku": "SKU001"``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator

from ..catalog.api import SkuRef
from ..schemas import Id, Input, Line, Money, Name, Output, PageQuery, PositiveQuantity, Quantity, UtcDateTime
from .models import LEDGER_TYPES

WarehouseId = Id
Reason = Annotated[Name, Field(max_length=255)]
NonNegativeQuantity = Annotated[Quantity, Field(ge=0)]
LedgerType = Literal[LEDGER_TYPES]  # type: ignore[valid-type]


class WarehouseCreateIn(Input):
    code: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
    name: Annotated[Name, Field(max_length=100)]
    address: Annotated[Line, Field(max_length=255)] = ""
    is_default: bool = Field(False, description="make this the default warehouse (orders without one use it)")


class WarehouseOut(Output):
    id: int
    code: str
    name: str
    address: str
    is_default: bool
    is_active: bool
    created_at: UtcDateTime


class WarehouseListIn(PageQuery):
    q: Annotated[Line, Field(max_length=100)] | None = Field(None, description="part of the code or name")


class StockAdjustIn(Input):
    sku: SkuRef
    warehouse_id: WarehouseId | None = Field(None, description="default: the default warehouse")
    direction: Literal["in", "out"]
    quantity: PositiveQuantity
    reason: Reason
    type: Literal["adjust", "receipt", "issue"] = Field(
        "adjust", description="the ledger type: receipt only with direction in, issue only with out"
    )

    @field_validator("type")
    @classmethod
    def _type_matches_direction(cls, value: str, info) -> str:
        direction = info.data.get("direction")
        if (value == "receipt" and direction == "out") or (value == "issue" and direction == "in"):
            raise ValueError(f"{value} does not go with direction {direction}")
        return value


class StockTransferLineIn(Input):
    sku: SkuRef
    quantity: PositiveQuantity


class StockTransferIn(Input):
    from_warehouse_id: WarehouseId
    to_warehouse_id: WarehouseId
    lines: Annotated[list[StockTransferLineIn], Field(min_length=1, max_length=200)]
    reason: Annotated[Line, Field(max_length=255)] = ""


class StockCountLineIn(Input):
    sku: SkuRef
    counted: NonNegativeQuantity


class StockCountIn(Input):
    warehouse_id: WarehouseId | None = Field(None, description="default: the default warehouse")
    lines: Annotated[list[StockCountLineIn], Field(min_length=1, max_length=500)]
    reason: Annotated[Line, Field(max_length=255)] = "stocktake"


class StockThresholdIn(Input):
    sku: SkuRef
    warehouse_id: WarehouseId | None = Field(None, description="only for this warehouse; default: every warehouse")
    threshold: NonNegativeQuantity


class StockOut(Output):
    sku_id: int
    sku_code: str
    warehouse_id: int
    warehouse_code: str
    on_hand: Quantity
    reserved: Quantity
    available: Quantity
    low_stock_threshold: Quantity | None
    low_stock: bool
    updated_at: UtcDateTime


class StockQueryIn(PageQuery):
    sku: Annotated[Line, Field(max_length=64)] | None = Field(None, description="a SKU id or code")
    warehouse_id: WarehouseId | None = None
    low_stock: bool = Field(False, description="only rows at or below their low-stock threshold")


class ThresholdOut(Output):
    sku_id: int
    sku_code: str
    warehouse_id: int | None = Field(description="null: the threshold holds in every warehouse")
    low_stock_threshold: Quantity


class LedgerEntryOut(Output):
    id: int = Field(description="the ledger row id")
    sku_id: int
    warehouse_id: int
    type: str
    qty_on_hand: Quantity
    qty_reserved: Quantity
    on_hand_after: Quantity
    reserved_after: Quantity
    doc_type: str
    doc_id: str
    origin_type: str | None = Field(None, description="the document line that caused it (an order line...)")
    origin_id: str | None = None
    unit_cost: Money | None = Field(None, description="what one unit moved at (null: no cost known, or no goods moved)")
    reason: str
    actor: str
    created_at: UtcDateTime


class StockLedgerIn(PageQuery):
    sku: Annotated[Line, Field(max_length=64)] | None = Field(None, description="a SKU id or code")
    warehouse_id: WarehouseId | None = None
    type: LedgerType | None = None
    doc_id: Annotated[Line, Field(max_length=64)] | None = Field(
        None, description="the source document, e.g. an order number")
    date_from: UtcDateTime | None = None
    date_to: UtcDateTime | None = None


class StockMovementOut(Output):
    """What an adjust, transfer or count did: the ledger rows it wrote and the stock after."""

    doc_type: str
    doc_id: str
    entries: list[LedgerEntryOut]
    stock: list[StockOut]


class StockMismatch(Output):
    stock_level_id: int
    sku_id: int
    warehouse_id: int
    on_hand: Quantity
    reserved: Quantity
    ledger_on_hand: Quantity
    ledger_reserved: Quantity


class StockCheckOut(Output):
    checked: int
    mismatches: list[StockMismatch]
    checked_at: datetime
