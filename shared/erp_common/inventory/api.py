"""The inventory's public face: posting stock documents to the ledger, warehouses, the stock check.

Other domains change stock only by posting a ``StockDocument`` (``post_stock``) and get a
``Posting`` back; a refusal is 409 ``insufficient_stock`` with one detail per short line
(``{"line": i}``: the caller names its own field with ``ErpError.locate``). A line adding stock
may carry its ``unit_cost``; each SKU's moving average cost, its history, the stock at a past
date and the goods moved in a period are read here (inventory/costs.py).
"""
from __future__ import annotations

from .costs import (
    CostChange,
    GoodsMove,
    SkuCostInfo,
    StockValue,
    cost_history,
    current_cost,
    goods_moves,
    round_unit_cost,
    stock_values,
)
from .events import StockChanged, StockLineChange, WarehouseCreated
from .ledger import PostedLine, Posting, StockDocument, StockLine, post_stock
from .models import (
    ADJUST,
    ISSUE,
    RECEIPT,
    RELEASE,
    RESERVE,
    RETURN,
    SALE,
    STOCKTAKE,
    TRANSFER_IN,
    TRANSFER_OUT,
)
from .services import LowStock, available_stock, check_stock, low_stock, resolve_warehouse, warehouse_codes

__all__ = [
    "ADJUST", "ISSUE", "RECEIPT", "RELEASE", "RESERVE", "RETURN", "SALE", "STOCKTAKE", "TRANSFER_IN",
    "TRANSFER_OUT", "Posting", "PostedLine", "StockDocument", "StockLine", "post_stock", "check_stock",
    "resolve_warehouse", "StockChanged", "StockLineChange", "WarehouseCreated",
    "CostChange", "GoodsMove", "SkuCostInfo", "StockValue", "cost_history", "current_cost", "goods_moves",
    "round_unit_cost", "stock_values", "warehouse_codes", "LowStock", "available_stock", "low_stock",
]
