"""Sales tables: orders and their lines, payments, shipments and refunds.

An order's number (``SO`` + the UTC date it was created + the order id, at least 6 digits:
``SO20261128000123``) is made from its autoincrement id and creation time, so concurrent creates
never collide, and stored with the order: what is printed on a receipt does not change if a
timestamp is corrected later. Looking an order up by number reads the id back out of it and
checks the stored number. Each line keeps the price it was sold at and
how much of it was shipped, returned or released (cancelled), which is all the state a later
shipment, return or cancel needs; its ``amount`` is after the discounts the pricing engine spread
onto it (promotions, coupon, points), each kept in ``promotions`` with its reason, so a return of
the line refunds its share of that amount.
"""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, Money, Quantity, UTCDateTime

PENDING_PAYMENT, PAID = "pending_payment", "paid"
PARTIALLY_SHIPPED, SHIPPED = "partially_shipped", "shipped"
PARTIALLY_RETURNED, RETURNED = "partially_returned", "returned"
CANCELLED = "cancelled"
NUMBER = re.compile(r"SO(\d{8})(\d{6,})")
STATUSES = (PENDING_PAYMENT, PAID, PARTIALLY_SHIPPED, SHIPPED, PARTIALLY_RETURNED, RETURNED, CANCELLED)


class SalesOrder(Base):
    __tablename__ = "sales_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # a member id, if any
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    # Unique, and null only between the order's INSERT and the UPDATE that gives it its number (the
    # number carries the id, which the INSERT makes), inside the one transaction that creates it.
    number: Mapped[str | None] = mapped_column(String(24), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    total_amount: Mapped[Decimal] = mapped_column(Money())
    discount_amount: Mapped[Decimal] = mapped_column(Money(), server_default="0")  # promotions, coupon, points
    coupon_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    points_redeemed: Mapped[int] = mapped_column(Integer, server_default="0")
    paid_amount: Mapped[Decimal] = mapped_column(Money())
    refunded_amount: Mapped[Decimal] = mapped_column(Money())
    note: Mapped[str] = mapped_column(String(255), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)

    lines: Mapped[list[SalesOrderLine]] = relationship(
        back_populates="order", order_by="SalesOrderLine.line_no", lazy="selectin"
    )
    payments: Mapped[list[Payment]] = relationship(order_by="Payment.id", lazy="selectin")
    shipments: Mapped[list[Shipment]] = relationship(order_by="Shipment.id", lazy="selectin")
    refunds: Mapped[list[Refund]] = relationship(order_by="Refund.id", lazy="selectin")

    __table_args__ = (
        UniqueConstraint("number", name="uq_sales_orders_number"),
        Index("ix_sales_orders_status_created", "status", "created_at"),
        Index("ix_sales_orders_customer", "customer_id", "created_at"),
        Index("ix_sales_orders_created", "created_at"),
    )

    @property
    def amount_due(self) -> Decimal:
        return self.total_amount - self.paid_amount


def order_number(order_id: int, created_at: datetime) -> str:
    """``SO`` + the UTC creation date + the order id (at least 6 digits): unique because the id is."""
    return f"SO{created_at:%Y%m%d}{order_id:06d}"


def order_id_from_number(number: str) -> int | None:
    """The order id inside a number such as ``SO20261128000123``, or None if it is not one."""
    match = NUMBER.fullmatch(number)
    return int(match.group(2)) if match else None


class SalesOrderLine(Base):
    __tablename__ = "sales_order_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    sku_code: Mapped[str] = mapped_column(String(64))
    unit_price: Mapped[Decimal] = mapped_column(Money())
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    list_amount: Mapped[Decimal] = mapped_column(Money(), server_default="0")  # quantity x unit price
    discount_amount: Mapped[Decimal] = mapped_column(Money(), server_default="0")
    amount: Mapped[Decimal] = mapped_column(Money())  # what the line costs: list amount less its discounts
    # JSON: each discount on the line with its source, amount and reason; NULL for none
    promotions: Mapped[str | None] = mapped_column(Text, nullable=True)
    qty_shipped: Mapped[Decimal] = mapped_column(Quantity())
    qty_returned: Mapped[Decimal] = mapped_column(Quantity())
    qty_released: Mapped[Decimal] = mapped_column(Quantity())

    order: Mapped[SalesOrder] = relationship(back_populates="lines")

    @property
    def qty_reserved(self) -> Decimal:
        """What is still held in stock for this line."""
        return self.quantity - self.qty_shipped - self.qty_released


class Payment(Base):
    __tablename__ = "order_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    method: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(100), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Shipment(Base):
    __tablename__ = "order_shipments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id"), index=True)
    lines: Mapped[str] = mapped_column(Text)  # JSON: [{"line_no", "sku_id", "qty"}]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Refund(Base):
    """Money paid back: for returned goods, or a paid order that was cancelled."""

    __tablename__ = "order_refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sales_orders.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    reason: Mapped[str] = mapped_column(String(255), default="")
    lines: Mapped[str] = mapped_column(Text)  # JSON: [{"line_no", "sku_id", "qty"}], [] for a cancel
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
