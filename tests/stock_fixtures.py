"""Fixtures for the inventory and sales tests: SKUs made straight in the catalog tables, and stock.

The catalog functions are built elsewhere; these tests need only a SKU row with a price, so
``make_sku`` inserts a category, an item and a SKU with the models directly.
"""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest


@pytest.fixture(scope="session")
def make_sku(database):
    """``make_sku(price="100.00", code=None, status="on_sale")`` -> (sku_id, code)."""
    from erp_common.catalog.models import Category, Item, Sku
    from erp_common.db import transaction, utcnow

    def make(price: str = "100.00", code: str | None = None, status: str = "on_sale") -> tuple[int, str]:
        code = code or f"SKU-{uuid.uuid4().hex[:10]}"
        now = utcnow()
        with transaction() as session:
            category = Category(name=f"cat-{uuid.uuid4().hex[:8]}", path="/", level=1, sort_order=0,
                                created_at=now, updated_at=now)
            session.add(category)
            session.flush()
            category.path = f"/{category.id}/"
            item = Item(name=f"item {code}", category_id=category.id, description="", unit="pcs", brand="",
                        price=Decimal(price), status="on_sale", spec_names="[]", created_by="test",
                        created_at=now, updated_at=now)
            session.add(item)
            session.flush()
            sku = Sku(item_id=item.id, code=code, specs="{}", spec_key="", price=Decimal(price), status=status,
                      created_at=now, updated_at=now)
            session.add(sku)
            session.flush()
            return sku.id, code

    return make


@pytest.fixture(scope="session")
def main_warehouse(database) -> int:
    """The id of the default warehouse MAIN (created by the migration)."""
    from sqlalchemy import select

    from erp_common.db import transaction
    from erp_common.inventory.models import Warehouse

    with transaction() as session:
        return session.scalar(select(Warehouse.id).where(Warehouse.code == "MAIN"))


@pytest.fixture(scope="session")
def put_stock(database, main_warehouse):
    """``put_stock(sku_id, qty, warehouse_id=None)``: receive stock through the ledger (no HTTP)."""
    from erp_common import uow
    from erp_common.inventory.api import RECEIPT, StockDocument, StockLine, post_stock

    def put(sku_id: int, qty, warehouse_id: int | None = None) -> None:
        doc = StockDocument("test", f"setup-{uuid.uuid4().hex[:8]}", [
            StockLine(sku_id, warehouse_id or main_warehouse, RECEIPT, Decimal(str(qty)))])
        uow.run(lambda ctx: post_stock(ctx, doc), uow.system_caller("test-setup"))

    return put


@pytest.fixture(scope="session")
def stock_of(database, main_warehouse):
    """``stock_of(sku_id, warehouse_id=None)`` -> (on_hand, reserved), read from the database."""
    from sqlalchemy import select

    from erp_common.db import transaction
    from erp_common.inventory.models import StockLevel

    def read(sku_id: int, warehouse_id: int | None = None) -> tuple[Decimal, Decimal]:
        with transaction() as session:
            row = session.execute(select(StockLevel.on_hand, StockLevel.reserved).where(
                StockLevel.sku_id == sku_id, StockLevel.warehouse_id == (warehouse_id or main_warehouse))).first()
            return (row.on_hand, row.reserved) if row else (Decimal(0), Decimal(0))

    return read


@pytest.fixture(scope="session")
def stock_check(database):
    """``stock_check()`` -> the mismatches between stock rows and their ledger (empty when all agree)."""
    from erp_common.db import transaction
    from erp_common.inventory.services import check_stock

    def check() -> list:
        with transaction() as session:
            return check_stock(session).mismatches

    return check
