"""Inventory tables: warehouses, stock levels per SKU x warehouse, thresholds and the stock ledger.

``stock_levels`` holds the current balance (on hand, reserved; available = on hand - reserved)
of one SKU in one warehouse. Every change to it is one row of ``stock_ledger``, written in the
same transaction and never updated: its signed deltas (``qty_on_hand``, ``qty_reserved``) sum
to the balance, and it records the balances after the change, the unit cost it moved at, the
source document, who and when.

``sku_costs`` is the moving weighted-average unit cost of each SKU (over all warehouses) and the
quantity it averages over; ``sku_cost_history`` has one row per change of it. Both are written by
the ledger in the same transaction as the posting that changed them (inventory/costs.py).
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, CaseInsensitive, Money, Quantity, UTCDateTime

# Ledger entry types: what moved the stock.
RECEIPT, ISSUE, ADJUST = "receipt", "issue", "adjust"
TRANSFER_IN, TRANSFER_OUT = "transfer_in", "transfer_out"
RESERVE, RELEASE, SALE, RETURN, STOCKTAKE = "reserve", "release", "sale", "return", "stocktake"
LEDGER_TYPES = (RECEIPT, ISSUE, ADJUST, TRANSFER_IN, TRANSFER_OUT, RESERVE, RELEASE, SALE, RETURN, STOCKTAKE)


class Warehouse(Base):
    __tablename__ = "warehouses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(CaseInsensitive(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(255), default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StockLevel(Base):
    __tablename__ = "stock_levels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), index=True)
    on_hand: Mapped[Decimal] = mapped_column(Quantity())
    reserved: Mapped[Decimal] = mapped_column(Quantity())
    # A threshold for this warehouse only; when null the SKU's own threshold applies.
    low_stock_threshold: Mapped[Decimal | None] = mapped_column(Quantity(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("sku_id", "warehouse_id", name="uq_stock_sku_warehouse"),)

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


class SkuStockSetting(Base):
    """Per-SKU stock settings that hold in every warehouse (the low-stock threshold)."""

    __tablename__ = "sku_stock_settings"

    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    low_stock_threshold: Mapped[Decimal] = mapped_column(Quantity())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StockLedgerEntry(Base):
    """One immutable change of one stock level."""

    __tablename__ = "stock_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stock_level_id: Mapped[int] = mapped_column(ForeignKey("stock_levels.id"))
    sku_id: Mapped[int] = mapped_column(Integer)
    warehouse_id: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(16))
    qty_on_hand: Mapped[Decimal] = mapped_column(Quantity())  # signed change of on hand
    qty_reserved: Mapped[Decimal] = mapped_column(Quantity())  # signed change of reserved
    on_hand_after: Mapped[Decimal] = mapped_column(Quantity())
    reserved_after: Mapped[Decimal] = mapped_column(Quantity())
    doc_type: Mapped[str] = mapped_column(String(32))  # sales_order, adjustment, transfer, stocktake...
    doc_id: Mapped[str] = mapped_column(String(64))
    # The business document line that caused the move (an order line, a PO line), if any.
    origin_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    origin_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # What one unit moved at: a receipt's own cost, else the SKU's average cost at the time (null
    # while the SKU has no cost yet; a reservation or a release moves no goods and carries none).
    unit_cost: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    reason: Mapped[str] = mapped_column(String(255), default="")
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_stock_ledger_level", "stock_level_id", "id"),
        Index("ix_stock_ledger_sku_wh", "sku_id", "warehouse_id", "created_at"),
        Index("ix_stock_ledger_created", "created_at"),
        Index("ix_stock_ledger_doc", "doc_type", "doc_id"),
        Index("ix_stock_ledger_origin", "origin_type", "origin_id"),
    )


class SkuCost(Base):
    """A SKU's moving weighted-average unit cost and the quantity on hand (every warehouse) it is over."""

    __tablename__ = "sku_costs"

    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    unit_cost: Mapped[Decimal] = mapped_column(Money())
    on_hand: Mapped[Decimal] = mapped_column(Quantity())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SkuCostChange(Base):
    """One change of a SKU's average cost: a quantity came in at a cost on top of what was on hand."""

    __tablename__ = "sku_cost_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sku_id: Mapped[int] = mapped_column(Integer)
    unit_cost_before: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    on_hand_before: Mapped[Decimal] = mapped_column(Quantity())
    qty_in: Mapped[Decimal] = mapped_column(Quantity())
    cost_in: Mapped[Decimal] = mapped_column(Money())
    unit_cost: Mapped[Decimal] = mapped_column(Money())  # the average after
    doc_type: Mapped[str] = mapped_column(String(32))
    doc_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_sku_cost_history_sku", "sku_id", "created_at", "id"),)
