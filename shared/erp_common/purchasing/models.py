"""Purchasing tables: suppliers, the suppliers of a SKU, purchase orders, their lines and receipts.

A purchase order's lines keep what was ordered (quantity, unit cost) and what has come in
(``qty_received``); each receipt is also a row of ``purchase_receipts`` (the lines it brought
in, as JSON) and a posting of the stock ledger whose lines name the PO line as their origin.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, CaseInsensitive, Money, Quantity, UTCDateTime

# Purchase order states (purchasing/workflow.py moves between them).
DRAFT, APPROVED, PARTIALLY_RECEIVED, RECEIVED = "draft", "approved", "partially_received", "received"
CLOSED, CANCELLED = "closed", "cancelled"
STATUSES = (DRAFT, APPROVED, PARTIALLY_RECEIVED, RECEIVED, CLOSED, CANCELLED)
OPEN_STATUSES = (DRAFT, APPROVED, PARTIALLY_RECEIVED)  # goods may still come in


class Supplier(Base):
    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(CaseInsensitive(32), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    address: Mapped[str] = mapped_column(String(255), default="")
    payment_terms: Mapped[str] = mapped_column(String(32), default="")  # e.g. "NET30", "COD"
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SkuSupplier(Base):
    """A supplier of a SKU: its own code for it, the last price paid, the lead time; one is preferred."""

    __tablename__ = "sku_suppliers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    supplier_sku_code: Mapped[str] = mapped_column(String(64), default="")
    last_price: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    lead_time_days: Mapped[int] = mapped_column(Integer, default=0)
    is_preferred: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("sku_id", "supplier_id", name="uq_sku_supplier",
                                       info={"field": "supplier_id"}),)


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    status: Mapped[str] = mapped_column(String(24), index=True)
    total_amount: Mapped[Decimal] = mapped_column(Money())
    expected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # How much more than ordered a line may receive, in % of its quantity (0: not a unit more).
    over_receipt_pct: Mapped[Decimal] = mapped_column(Money())
    note: Mapped[str] = mapped_column(String(255), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # cancelled or closed
    end_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)

    lines: Mapped[list[PurchaseOrderLine]] = relationship(
        back_populates="order", order_by="PurchaseOrderLine.line_no", cascade="all, delete-orphan")
    receipts: Mapped[list[PurchaseReceipt]] = relationship(order_by="PurchaseReceipt.id", cascade="all")

    @property
    def number(self) -> str:
        return po_number(self.id, self.created_at)


def po_number(po_id: int, created_at: datetime) -> str:
    """``PO`` + the UTC creation date + the id (at least 6 digits): unique because the id is."""
    return f"PO{created_at:%Y%m%d}{po_id:06d}"


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    po_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    sku_code: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_cost: Mapped[Decimal] = mapped_column(Money())
    amount: Mapped[Decimal] = mapped_column(Money())
    qty_received: Mapped[Decimal] = mapped_column(Quantity())
    expected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    order: Mapped[PurchaseOrder] = relationship(back_populates="lines")

    __table_args__ = (UniqueConstraint("po_id", "line_no", name="uq_po_line"),)

    @property
    def origin_id(self) -> str:
        """How the stock ledger names this line (``origin_type="purchase_order_line"``)."""
        return f"{self.po_id}/{self.line_no}"


class PurchaseReceipt(Base):
    """One receipt of goods against a PO: the lines and quantities it brought in (JSON)."""

    __tablename__ = "purchase_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    po_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    lines: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(255), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
