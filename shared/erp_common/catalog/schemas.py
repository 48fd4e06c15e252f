"""Catalog inputs and outputs: categories, items with their SKUs, SKU look-ups, CSV import."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from ..schemas import Code, Id, Input, Int, Line, Money, Name, Output, PageQuery, PositiveMoney, Text, UtcDateTime
from .specs import SpecError, check_specs

Status = Literal["on_sale", "off_sale"]
Barcode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
SpecValues = dict[Annotated[Line, Field(max_length=30)], Annotated[Line, Field(max_length=40)]]
CategoryName = Annotated[Name, Field(max_length=100)]


# --- categories ----------------------------------------------------------------------

class CategoryCreateIn(Input):
    name: CategoryName
    parent_id: Id | None = Field(None, description="the parent category; none for a top-level one")
    sort_order: Int = Field(0, ge=0, le=1_000_000)


class CategoryUpdateIn(Input):
    category_id: Id
    name: CategoryName | None = None
    parent_id: Id | None = Field(None, description="move under this category; null moves it to the top level")
    sort_order: Int | None = Field(None, ge=0, le=1_000_000)


class CategoryListIn(Input):
    root_id: Id | None = Field(None, description="only this category and its sub-categories")


class CategoryOut(Output):
    id: int
    name: str
    parent_id: int | None
    path: str = Field(description="materialised path of ids, e.g. /1/4/9/")
    level: int
    sort_order: int
    created_at: UtcDateTime
    updated_at: UtcDateTime


class CategoryNode(CategoryOut):
    children: list[CategoryNode] = []


class CategoryTreeOut(Output):
    items: list[CategoryNode] = Field(description="the top-level categories, each with its children")
    total: int = Field(description="how many categories the tree holds")


class CategoryRef(Output):
    id: int
    name: str
    path: str


# --- items and SKUs --------------------------------------------------------------------

class SkuIn(Input):
    """Per-SKU details at creation, keyed by the SKU's spec values."""

    specs: SpecValues = Field(default_factory=dict, description="one value per spec, e.g. {color: 红色, size: S}")
    code: Code | None = Field(None, description="the SKU code; generated (SKU-<item id>-<n>) when absent")
    price: PositiveMoney | None = Field(None, description="this SKU's own price; the item price when absent")
    barcode: Barcode | None = None


def _distinct(values: list[str]) -> list[str]:
    stripped = [v.strip() for v in values]
    duplicates = sorted({v for v in stripped if stripped.count(v) > 1})
    if duplicates:
        raise ValueError(f"duplicate value(s): {', '.join(duplicates)}")
    return values


# One spec's values: errors name the spec (sku_specs.color) when the list is empty or repeats a value.
SpecList = Annotated[list[Annotated[Name, Field(max_length=40)]], Field(min_length=1), AfterValidator(_distinct)]


def _check_sku_specs(value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
    if value is None:
        return None
    try:
        return check_specs(value)
    except SpecError as exc:
        raise ValueError(f"{exc.field}: {exc.message}") from None


class ItemCreateIn(Input):
    name: Name
    category_id: Id
    price: PositiveMoney
    description: Annotated[Text, Field(max_length=5000)] = ""
    unit: Annotated[Name, Field(max_length=20)] = "pcs"
    brand: Annotated[Line, Field(max_length=100)] = ""
    barcode: Barcode | None = Field(None, description="the item's barcode; also its SKU's when it has no specs")
    status: Status = "on_sale"
    sku_specs: dict[Annotated[Line, Field(max_length=30)], SpecList] | None = Field(
        None, description='spec name -> values, e.g. {"color": ["红色", "蓝色"], "size": ["S", "M", "L"]}'
    )
    skus: Annotated[list[SkuIn], Field(max_length=500)] | None = Field(
        None, description="per-SKU code, price or barcode, each keyed by its specs"
    )

    _specs = field_validator("sku_specs")(_check_sku_specs)


class SkuUpdateIn(Input):
    """A change to one SKU of the item, found by id or code."""

    id: Id | None = None
    code: Code | None = None
    price: PositiveMoney | None = Field(None, description="a price of its own (stops following the item price)")
    follow_item_price: bool | None = Field(None, description="true: drop its own price, follow the item's")
    barcode: Barcode | None = None
    status: Status | None = None


class ItemUpdateIn(Input):
    item_id: Id
    name: Name | None = None
    category_id: Id | None = None
    price: PositiveMoney | None = None
    description: Annotated[Text, Field(max_length=5000)] | None = None
    unit: Annotated[Name, Field(max_length=20)] | None = None
    brand: Annotated[Line, Field(max_length=100)] | None = None
    barcode: Barcode | None = Field(None, description="the item's barcode; also its SKU's when it has no specs "
                                                      "and that SKU carries the item's barcode")
    status: Status | None = Field(None, description="on_sale or off_sale: applies to the item and all its SKUs")
    skus: Annotated[list[SkuUpdateIn], Field(max_length=500)] | None = None


class ItemIdIn(Input):
    item_id: Id


class SkuOut(Output):
    id: int
    item_id: int
    code: str
    barcode: str | None
    specs: dict[str, str]
    price: Money
    price_overridden: bool = Field(description="false: follows the item price")
    status: Status
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ItemOut(Output):
    id: int
    name: str
    category_id: int
    category: CategoryRef
    description: str
    unit: str
    brand: str
    barcode: str | None
    price: Money
    status: Status
    sku_specs: dict[str, list[str]]
    skus: list[SkuOut]
    created_by: str
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ItemSummaryOut(Output):
    id: int
    name: str
    category_id: int
    brand: str
    unit: str
    barcode: str | None
    price: Money
    status: Status
    sku_count: int
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ItemListIn(PageQuery):
    q: Annotated[Line, Field(min_length=1, max_length=100)] | None = Field(
        None, description="part of the item name, or the start of a SKU code or barcode"
    )
    category_id: Id | None = Field(None, description="this category and its sub-categories")
    status: Status | None = None
    sort: Literal["id", "name", "price", "created_at"] = "id"
    order: Literal["asc", "desc"] = "asc"


class ItemPriceHistoryIn(PageQuery):
    item_id: Id


class PriceChangeOut(Output):
    """One price change: of the item itself (``sku_id`` null) or of one of its SKUs."""

    id: int
    item_id: int
    sku_id: int | None = Field(description="the SKU whose price changed; null for the item's own price")
    sku_code: str | None
    old_price: Money
    new_price: Money
    changed_by: str = Field(description="the user who changed it")
    changed_at: UtcDateTime


class SkuGetIn(Input):
    id: Id | None = None
    code: Code | None = None
    barcode: Barcode | None = None


class SkuItemRef(Output):
    id: int
    name: str
    status: Status
    unit: str
    category_id: int


class SkuDetailOut(SkuOut):
    item: SkuItemRef


# --- CSV -------------------------------------------------------------------------------

class ItemImportIn(Input):
    csv: Annotated[Text, Field(min_length=1, max_length=20_000_000)] = Field(description="the CSV text, UTF-8")
    dry_run: bool = Field(False, description="check every row and report, change nothing")
    background: bool = Field(False, description="run it in the background (202), whatever its size; files of "
                                                "more rows than ERP_IMPORT_SYNC_ROWS always are")


class RejectedRow(Output):
    row: int = Field(description="the line number in the file (the header is line 1)")
    field: str | None
    reason: str


class ImportReportOut(Output):
    rows: int
    created_items: int
    updated_items: int
    created_skus: int
    updated_skus: int
    rejected: list[RejectedRow]
    dry_run: bool


class ImportQueuedOut(Output):
    import_id: int
    status: str
    rows: int
    dry_run: bool
    progress_url: str = Field(description="item-import-get: progress, then the report")


class ImportIdIn(Input):
    import_id: Id


class ImportProgressOut(Output):
    import_id: int
    status: str = Field(description="queued, running, done or failed")
    dry_run: bool
    rows_total: int
    rows_done: int
    report: ImportReportOut | None = Field(None, description="when done: the same report as a synchronous import")
    error: str | None
    created_by: str
    created_at: UtcDateTime
    finished_at: UtcDateTime | None


class ItemExportIn(Input):
    category_id: Id | None = None
    status: Status | None = None
