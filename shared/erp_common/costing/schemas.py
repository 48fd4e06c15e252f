"""Costing inputs and outputs: a SKU's cost, the stock's valuation, the gross margin.

Unit costs have 4 places; amounts (a value, revenue, COGS, a margin) are to the cent, half up;
a margin % has 2 places, half up. ``format=csv`` answers the same rows as a CSV file.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..catalog.api import SkuRef
from ..schemas import Id, Input, Int, Money, Output, Quantity, UtcDateTime

Format = Literal["json", "csv"]


class CostSkuIn(Input):
    sku: SkuRef = Field(description="the SKU id (number) or code (string), in the path or the query")
    history: Int = Field(50, ge=0, le=500, description="how many changes of the average to list, newest first")


class CostChangeOut(Output):
    unit_cost_before: Money | None
    on_hand_before: Quantity
    qty_in: Quantity
    cost_in: Money
    unit_cost: Money
    doc_type: str
    doc_id: str
    created_at: UtcDateTime


class CostSkuOut(Output):
    sku_id: int
    sku_code: str
    unit_cost: Money | None = Field(description="the moving average unit cost; null before any costed receipt")
    on_hand: Quantity = Field(description="the quantity, in every warehouse, the average is over")
    value: Money | None = Field(description="on_hand x unit_cost, to the cent")
    updated_at: UtcDateTime | None
    history: list[CostChangeOut]


class ValuationIn(Input):
    as_of: UtcDateTime | None = Field(None, description="value the stock as it was at this time; default: now")
    warehouse_id: Id | None = None
    category_id: Id | None = None
    format: Format = "json"


class ValuationRow(Output):
    sku_id: int
    sku_code: str
    category_id: int
    category: str
    warehouse_id: int
    on_hand: Quantity
    unit_cost: Money | None
    value: Money | None = Field(description="on_hand x unit_cost to the cent; null while the SKU has no cost")


class ValueTotal(Output):
    key: int
    name: str
    value: Money


class ValuationOut(Output):
    as_of: UtcDateTime
    rows: list[ValuationRow]
    by_warehouse: list[ValueTotal]
    by_category: list[ValueTotal]
    total_value: Money
    uncosted_rows: int = Field(description="rows with stock but no cost yet (left out of the totals)")


class MarginIn(Input):
    date_from: UtcDateTime | None = Field(None, description="shipped or returned at or after")
    date_to: UtcDateTime | None = Field(None, description="shipped or returned before")
    category_id: Id | None = None
    format: Format = "json"


class MarginFigures(Output):
    qty_sold: Quantity = Field(description="shipped less returned")
    revenue: Money
    cogs: Money
    gross_margin: Money
    margin_pct: Money | None = Field(description="gross_margin / revenue x 100, 2 places; null without revenue")


class MarginSkuRow(MarginFigures):
    sku_id: int
    sku_code: str
    category_id: int
    category: str


class MarginCategoryRow(MarginFigures):
    category_id: int
    category: str


class MarginOut(MarginFigures):
    date_from: UtcDateTime | None
    date_to: UtcDateTime | None
    skus: list[MarginSkuRow]
    categories: list[MarginCategoryRow]
