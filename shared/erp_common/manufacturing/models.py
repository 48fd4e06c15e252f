"""Manufacturing tables: bills of materials (versioned) and their components, work orders, their
components (reserved and issued) and completions.

A BOM makes one finished SKU from component SKUs (quantity per unit, scrap %) plus a labour and
an overhead cost per unit. ``bom-update`` writes a new version of the SKU's BOM and leaves the old
one as it was, so a work order keeps the version it was made with. A component may have a BOM of
its own (multi-level); the services refuse a cycle.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, Money, Quantity, UTCDateTime

# Work order states (manufacturing/workflow.py moves between them).
DRAFT, RELEASED, IN_PROGRESS, DONE, CANCELLED = "draft", "released", "in_progress", "done", "cancelled"
STATUSES = (DRAFT, RELEASED, IN_PROGRESS, DONE, CANCELLED)


class Bom(Base):
    __tablename__ = "boms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    sku_code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean)  # the version new work orders and plans use
    labour_cost: Mapped[Decimal] = mapped_column(Money())  # per unit made
    overhead_cost: Mapped[Decimal] = mapped_column(Money())  # per unit made
    note: Mapped[str] = mapped_column(String(255), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    components: Mapped[list[BomComponent]] = relationship(
        order_by="BomComponent.line_no", cascade="all, delete-orphan")

    __table_args__ = (UniqueConstraint("sku_id", "version", name="uq_bom_sku_version"),
                      Index("ix_boms_current", "is_current", "sku_id"))


class BomComponent(Base):
    __tablename__ = "bom_components"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bom_id: Mapped[int] = mapped_column(ForeignKey("boms.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    sku_code: Mapped[str] = mapped_column(String(64))
    qty_per_unit: Mapped[Decimal] = mapped_column(Quantity())
    scrap_pct: Mapped[Decimal] = mapped_column(Money())  # % lost in making: 5 -> 5% more is used


class WorkOrder(Base):
    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    sku_code: Mapped[str] = mapped_column(String(64))
    bom_id: Mapped[int] = mapped_column(ForeignKey("boms.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    qty_done: Mapped[Decimal] = mapped_column(Quantity())
    status: Mapped[str] = mapped_column(String(24), index=True)
    due_date: Mapped[date | None] = mapped_column(Date(), nullable=True)
    note: Mapped[str] = mapped_column(String(255), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # done or cancelled

    components: Mapped[list[WorkOrderComponent]] = relationship(
        order_by="WorkOrderComponent.line_no", cascade="all, delete-orphan")
    completions: Mapped[list[WorkOrderCompletion]] = relationship(order_by="WorkOrderCompletion.id", cascade="all")

    @property
    def number(self) -> str:
        """``WO`` + the UTC creation date + the id: unique because the id is."""
        return f"WO{self.created_at:%Y%m%d}{self.id:06d}"


class WorkOrderComponent(Base):
    """What a work order needs of one component (scrap included), has reserved and has issued."""

    __tablename__ = "work_order_components"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    wo_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    sku_id: Mapped[int] = mapped_column(Integer)
    sku_code: Mapped[str] = mapped_column(String(64))
    qty_required: Mapped[Decimal] = mapped_column(Quantity())
    qty_reserved: Mapped[Decimal] = mapped_column(Quantity())  # reserved and not issued yet
    qty_issued: Mapped[Decimal] = mapped_column(Quantity())

    __table_args__ = (UniqueConstraint("wo_id", "line_no", name="uq_wo_component"),)


class WorkOrderCompletion(Base):
    """One completion: the quantity made, its rolled-up unit cost and the components it issued (JSON)."""

    __tablename__ = "work_order_completions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    wo_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_cost: Mapped[Decimal] = mapped_column(Money())
    components: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
