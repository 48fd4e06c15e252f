"""The costing functions (service ``cost``): a SKU's cost, the stock's valuation, the gross margin.

``accountant`` reads costs; ``manager`` and ``admin`` everything. ``format=csv`` answers a CSV file.
"""
from __future__ import annotations

from ..operations import operation
from . import services
from .schemas import CostSkuIn, CostSkuOut, MarginIn, MarginOut, ValuationIn, ValuationOut

READERS = ("admin", "manager", "accountant")

operation(
    "cost-sku", service="cost", summary="A SKU's moving average cost and its history", input=CostSkuIn,
    output=CostSkuOut, roles=READERS, methods=("GET",), path="/{sku}",
)(services.get_sku_cost)
operation(
    "cost-valuation", service="cost",
    summary="Stock value per SKU, warehouse and category, now or at a date (JSON or CSV)",
    input=ValuationIn, output=ValuationOut, roles=READERS, methods=("GET",),
)(services.valuation)
operation(
    "cost-margin", service="cost",
    summary="Revenue, COGS and gross margin per SKU and category for a period (JSON or CSV)",
    input=MarginIn, output=MarginOut, roles=READERS, methods=("GET",),
)(services.margin)
