"""Catalog tables: the category tree, items (SPUs), SKUs and the price history.

A SKU is the unit every stock level, order line, purchase line and BOM line points at. Its
``code`` is unique and stable; ``spec_key`` (the spec values in the item's spec order) is unique
within its item, so the same combination cannot exist twice. A SKU either follows its item's
price (``price_overridden`` false: an item price change moves it too) or has a price of its own.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.dialects.mysql import LONGTEXT
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, CaseInsensitive, Money, UTCDateTime

ON_SALE, OFF_SALE = "on_sale", "off_sale"


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(CaseInsensitive(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), nullable=True)
    # Materialised path of ids, "/1/4/9/": a subtree is one prefix match.
    path: Mapped[str] = mapped_column(String(255), index=True)
    level: Mapped[int] = mapped_column(Integer, default=1)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    # ``info["field"]``: the input field a clash names (see ``db.unique_key_field``).
    __table_args__ = (UniqueConstraint("parent_id", "name", name="uq_category_sibling_name", info={"field": "name"}),)


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(20), default="pcs")
    brand: Mapped[str] = mapped_column(String(100), default="")
    barcode: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    price: Mapped[Decimal] = mapped_column(Money())
    status: Mapped[str] = mapped_column(String(16), default=ON_SALE, index=True)
    spec_names: Mapped[str] = mapped_column(Text, default="[]")  # JSON list, in order
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    category: Mapped[Category] = relationship()
    skus: Mapped[list[Sku]] = relationship(back_populates="item", order_by="Sku.id", lazy="selectin")


class Sku(Base):
    __tablename__ = "skus"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    code: Mapped[str] = mapped_column(CaseInsensitive(64), unique=True)
    barcode: Mapped[str | None] = mapped_column(CaseInsensitive(64), nullable=True, unique=True)
    specs: Mapped[str] = mapped_column(Text, default="{}")  # JSON object, spec name -> value
    spec_key: Mapped[str] = mapped_column(String(255), default="")
    price: Mapped[Decimal] = mapped_column(Money())
    # False: the SKU follows its item's price; True: it has a price of its own.
    price_overridden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(16), default=ON_SALE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    item: Mapped[Item] = relationship(back_populates="skus")

    __table_args__ = (UniqueConstraint("item_id", "spec_key", name="uq_sku_item_specs", info={"field": "specs"}),)


class PriceChange(Base):
    """Every price change of an item or one of its SKUs: who, when, from what to what."""

    __tablename__ = "price_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"), nullable=True)
    old_price: Mapped[Decimal] = mapped_column(Money())
    new_price: Mapped[Decimal] = mapped_column(Money())
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_price_changes_item", "item_id", "changed_at"),)


class ItemImport(Base):
    """A CSV import too large for one request, run in the background batch by batch (item-import-run);
    its progress and, at the end, its report are read with item-import-get."""

    __tablename__ = "item_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    # The file as sent (up to 20 MB: LONGTEXT on MySQL, whose TEXT holds 64 KB).
    csv: Mapped[str] = mapped_column(Text().with_variant(LONGTEXT(), "mysql", "mariadb"))
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the ImportReportOut so far
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
