"""The catalog's public face: what other domains may use (SKUs as they name them, and its events).

Other domains name SKUs by id or code on the lines of their documents; ``find_skus`` resolves
them in one round trip and answers 404 ``unknown_sku`` with one detail per unknown line
(``{"line": i}``: the caller names its own field with ``ErpError.locate``).
"""
from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from pydantic import Field
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..prepared import Prepared
from ..schemas import Id, Line
from .events import ItemCreated, ItemPriceChanged, ItemUpdated
from .models import OFF_SALE, ON_SALE, Category, Item, Sku

__all__ = ["ON_SALE", "OFF_SALE", "SkuInfo", "SkuRef", "SkuCategory", "find_skus", "sku_codes", "sku_categories",
           "sku_ref",
           "ItemCreated", "ItemUpdated", "ItemPriceChanged"]

# How other domains' inputs name a SKU: its id, or its code.
SkuRef = Id | Annotated[Line, Field(min_length=1, max_length=64)]

_skus = Sku.__table__
_COLUMNS = (_skus.c.id, _skus.c.code, _skus.c.price, _skus.c.status)
_BY_CODES = select(*_COLUMNS).where(_skus.c.code.in_(bindparam("codes", expanding=True)))


@functools.lru_cache(maxsize=64)
def _by_ids(count: int) -> Prepared:
    """``count`` SKUs by id, prepared once per count with one bound parameter per id (``id0``...): the
    order path runs it per request, and an "expanding" IN would be re-rendered at every execution."""
    return Prepared(select(*_COLUMNS).where(_skus.c.id.in_([bindparam(f"id{k}", type_=_skus.c.id.type)
                                                            for k in range(count)])))


def _id_params(ids: Sequence[int]) -> dict[str, int]:
    return {f"id{k}": value for k, value in enumerate(ids)}


@dataclass(frozen=True)
class SkuInfo:
    """A SKU as other domains see it: its id, code, selling price and status."""

    id: int
    code: str
    price: Decimal
    status: str


def sku_ref(value: str) -> int | str:
    """A SKU named in a query string: ASCII digits are an id, anything else a code."""
    return int(value) if value.isascii() and value.isdigit() else value


def find_skus(session: Session, refs: Sequence[int | str]) -> list[SkuInfo]:
    """The SKUs named by id (int) or code (str), in the order given, in one query; 404 naming every
    unknown one by its line (its index in ``refs``)."""
    ids = sorted({r for r in refs if isinstance(r, int)})
    codes = sorted({r for r in refs if isinstance(r, str)})
    rows = _by_ids(len(ids)).rows(session, _id_params(ids)) if ids else []
    if codes:
        rows += session.connection().execute(_BY_CODES, {"codes": codes})
    found: dict[int | str, SkuInfo] = {}
    for row in rows:
        found[row.id] = found[row.code] = SkuInfo(row.id, row.code, row.price, row.status)
    missing = [{"line": i, "sku": r, "message": f"no SKU {r!r}"} for i, r in enumerate(refs) if r not in found]
    if missing:
        raise NotFound(f"unknown SKU: {', '.join(repr(d['sku']) for d in missing)}", code="unknown_sku",
                       details=missing)
    return [found[r] for r in refs]


def sku_codes(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """The codes of these SKUs, by id (for lists that show them)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {row.id: row.code for row in _by_ids(len(wanted)).rows(session, _id_params(wanted))}


@dataclass(frozen=True)
class SkuCategory:
    """Where a SKU sits in the catalog: its code, its item, and its item's category with the
    category's path (``/3/17/``: the category and every one above it), for reports grouped by
    category and promotions scoped to items or categories."""

    sku_id: int
    code: str
    item_id: int
    category_id: int
    category: str
    category_path: str


def sku_categories(session: Session, ids: Iterable[int]) -> dict[int, SkuCategory]:
    """Where these SKUs sit in the catalog, by id, in one query."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(select(Sku.id, Sku.code, Sku.item_id, Category.id.label("category_id"), Category.name,
                                  Category.path)
                           .join(Item, Item.id == Sku.item_id).join(Category, Category.id == Item.category_id)
                           .where(Sku.id.in_(wanted)))
    return {r.id: SkuCategory(r.id, r.code, r.item_id, r.category_id, r.name, r.path) for r in rows}
