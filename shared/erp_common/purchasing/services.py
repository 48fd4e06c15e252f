"""Purchasing services: suppliers."""
from __future__ import annotations

from sqlalchemy import or_, select

from ..context import Context
from ..errors import Conflict
from ..paging import paginate
from ..schemas import Page
from .events import SupplierCreated
from .models import Supplier
from .schemas import SupplierCreateIn, SupplierListIn, SupplierOut


def create_supplier(ctx: Context, data: SupplierCreateIn) -> SupplierOut:
    """Create a supplier; its code is unique (409 naming ``code`` if taken)."""
    if ctx.session.scalar(select(Supplier.id).where(Supplier.code == data.code)) is not None:
        raise Conflict(f"the supplier code {data.code!r} is taken", code="supplier_code_taken",
                       details=[{"field": "code", "message": "already taken"}])
    supplier = Supplier(**data.model_dump(), is_active=True, created_by=ctx.actor, created_at=ctx.now,
                        updated_at=ctx.now)
    ctx.session.add(supplier)
    ctx.session.flush()
    ctx.emit(SupplierCreated(supplier_id=supplier.id, code=supplier.code, name=supplier.name, by=ctx.actor))
    return SupplierOut.model_validate(supplier)


def list_suppliers(ctx: Context, data: SupplierListIn) -> Page[SupplierOut]:
    """Suppliers by code, searched by part of the code or name, active or not."""
    query = select(Supplier)
    if data.q:
        like = f"%{data.q}%"
        query = query.where(or_(Supplier.code.like(like), Supplier.name.like(like)))
    if data.is_active is not None:
        query = query.where(Supplier.is_active.is_(data.is_active))
    return paginate(ctx.session, query, data, SupplierOut.model_validate, Supplier.code)
