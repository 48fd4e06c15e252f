"""The inventory functions (service ``stock``): warehouses, stock movements, stock and ledger queries.

``warehouse`` and ``admin`` move stock; everyone signed in reads it.
"""
from __future__ import annotations

from ..operations import SIGNED_IN, operation
from ..schemas import Page
from . import services
from .schemas import (
    LedgerEntryOut,
    StockAdjustIn,
    StockCountIn,
    StockLedgerIn,
    StockMovementOut,
    StockOut,
    StockQueryIn,
    StockThresholdIn,
    StockTransferIn,
    ThresholdOut,
    WarehouseCreateIn,
    WarehouseListIn,
    WarehouseOut,
)

MOVERS = ("admin", "warehouse")

operation(
    "warehouse-create", service="stock", summary="Create a warehouse", input=WarehouseCreateIn, output=WarehouseOut,
    roles=MOVERS, status=201, idempotent=True,
)(services.create_warehouse)
operation(
    "warehouse-list", service="stock", summary="List and search warehouses", input=WarehouseListIn,
    output=Page[WarehouseOut], roles=SIGNED_IN, methods=("GET",),
)(services.list_warehouses)
operation(
    "stock-adjust", service="stock", summary="Put stock in or take it out of a warehouse, with a reason",
    input=StockAdjustIn, output=StockMovementOut, roles=MOVERS, idempotent=True,
)(services.adjust_stock)
operation(
    "stock-transfer", service="stock", summary="Move stock between two warehouses, atomically",
    input=StockTransferIn, output=StockMovementOut, roles=MOVERS, idempotent=True,
)(services.transfer_stock)
operation(
    "stock-count", service="stock", summary="Record a stocktake and post the differences", input=StockCountIn,
    output=StockMovementOut, roles=MOVERS, idempotent=True,
)(services.count_stock)
operation(
    "stock-threshold", service="stock", summary="Set a SKU's low-stock threshold (every warehouse or one)",
    input=StockThresholdIn, output=ThresholdOut, roles=MOVERS + ("manager",), methods=("POST", "PUT"),
)(services.set_threshold)
operation(
    "stock-query", service="stock", summary="Stock by SKU, warehouse, or low stock only", input=StockQueryIn,
    output=Page[StockOut], roles=SIGNED_IN, methods=("GET",),
)(services.query_stock)
operation(
    "stock-ledger", service="stock", summary="The stock ledger: every movement, filtered and paginated",
    input=StockLedgerIn, output=Page[LedgerEntryOut], roles=SIGNED_IN, methods=("GET",),
)(services.list_ledger)
