"""The catalog functions (service ``item``): categories, items, SKUs, CSV import and export."""
from __future__ import annotations

from ..operations import CONNECTOR, SIGNED_IN, operation
from ..schemas import Page
from . import csv_io, services
from .schemas import (
    CategoryCreateIn,
    CategoryListIn,
    CategoryOut,
    CategoryTreeOut,
    CategoryUpdateIn,
    ImportIdIn,
    ImportProgressOut,
    ImportQueuedOut,
    ImportReportOut,
    ItemCreateIn,
    ItemExportIn,
    ItemIdIn,
    ItemImportIn,
    ItemListIn,
    ItemOut,
    ItemPriceHistoryIn,
    ItemSummaryOut,
    ItemUpdateIn,
    PriceChangeOut,
    SkuDetailOut,
    SkuGetIn,
)

WRITERS = ("admin", "manager", "merchandiser")

operation(
    "category-create", service="item", summary="Create a category (top level or under a parent)",
    input=CategoryCreateIn, output=CategoryOut, roles=WRITERS, status=201, idempotent=True,
)(services.create_category)
operation(
    "category-list", service="item", summary="The category tree", input=CategoryListIn, output=CategoryTreeOut,
    roles=SIGNED_IN, methods=("GET",),
)(services.list_categories)
operation(
    "category-update", service="item", summary="Rename, reorder or move a category",
    input=CategoryUpdateIn, output=CategoryOut, roles=WRITERS, methods=("POST", "PATCH", "PUT"),
    path="/{category_id}",
)(services.update_category)
operation(
    "item-create", service="item", summary="Create an item and its SKUs (one per spec combination)",
    input=ItemCreateIn, output=ItemOut, roles=WRITERS, status=201, idempotent=True,
)(services.create_item)
operation(
    "item-get", service="item", summary="One item with its category and SKUs", input=ItemIdIn, output=ItemOut,
    roles=SIGNED_IN, methods=("GET",), path="/{item_id}",
)(services.get_item)
operation(
    "item-list", service="item", summary="Search, filter, sort and page items", input=ItemListIn,
    output=Page[ItemSummaryOut], roles=SIGNED_IN, methods=("GET",),
)(services.list_items)
operation(
    "item-update", service="item", summary="Change an item, its status, its price or its SKUs' prices",
    input=ItemUpdateIn, output=ItemOut, roles=WRITERS, methods=("POST", "PATCH", "PUT"), path="/{item_id}",
)(services.update_item)
operation(
    "item-price-history", service="item", summary="An item's price changes (its own and its SKUs'), newest first",
    input=ItemPriceHistoryIn, output=Page[PriceChangeOut], roles=SIGNED_IN, methods=("GET",), path="/{item_id}",
)(services.price_history)
operation(
    "sku-get", service="item", summary="One SKU by id, code or barcode", input=SkuGetIn, output=SkuDetailOut,
    roles=SIGNED_IN, methods=("GET",), path="/{id}",
)(services.get_sku)
operation(
    "item-import", service="item", summary="Create or update items and SKUs from a CSV file",
    input=ItemImportIn, output=ImportReportOut, roles=WRITERS, idempotent=True, accepted=ImportQueuedOut,
    memory_limit="512Mi",  # a 20 MB body, and every row of it parsed, in one request
)(csv_io.import_items)
operation(
    "item-import-get", service="item", summary="A background import's progress, then its report",
    input=ImportIdIn, output=ImportProgressOut, roles=WRITERS, methods=("GET",), path="/{import_id}",
)(csv_io.get_import)
operation(
    "item-import-run", service="item", summary="Run a large import in the background, batch by batch",
    roles=CONNECTOR, topic="item.import_queued", transactional=False, memory_limit="512Mi",
)(csv_io.run_import)
operation(
    "item-export", service="item", summary="Items and SKUs as CSV (the item-import shape)",
    input=ItemExportIn, roles=SIGNED_IN, methods=("GET",), content_type="text/csv",
)(csv_io.export_items)
