"""Lists: one page of a query (with the total) and the usual date-range filter."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from .schemas import Page, PageQuery

T = TypeVar("T")


def paginate(session: Session, query: Select, page: PageQuery, convert: Callable[[Any], T], *order_by: Any,
             entities: bool = True, per_page: Callable[[list[Any]], list[T]] | None = None) -> Page[T]:
    """The ``page`` of ``query`` in ``order_by`` order, each row through ``convert``, with the total.

    ``entities`` hands ``convert`` the single entity of each row (``select(Model)``); without it,
    the whole row (queries of several columns). ``per_page`` converts the page's rows all at once
    instead, when that takes one more query for the whole page (the SKU codes of a stock page).
    """
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list((session.scalars if entities else session.execute)(
        query.order_by(*order_by).offset(page.offset).limit(page.page_size)))
    items = per_page(rows) if per_page is not None else [convert(r) for r in rows]
    return Page[T](items=items, total=total, page=page.page, page_size=page.page_size)


def within(query: Select, column: Any, date_from: datetime | None, date_to: datetime | None) -> Select:
    """Rows with ``column`` at or after ``date_from`` and before ``date_to`` (either may be None)."""
    if date_from:
        query = query.where(column >= date_from)
    if date_to:
        query = query.where(column < date_to)
    return query
