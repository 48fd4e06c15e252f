"""The purchasing functions (service ``purchase``): suppliers, a SKU's suppliers, purchase orders.

``purchaser`` and ``manager`` buy (suppliers, POs, receipts; a purchaser approves up to the
approval limit); ``warehouse`` also receives goods; they, ``planner`` and ``accountant`` read.
"""
from __future__ import annotations

from ..operations import operation
from ..schemas import Page
from . import services
from .schemas import (
    PoCreateIn,
    PoEndIn,
    PoListIn,
    PoOut,
    PoReceiveIn,
    PoRefIn,
    PoSummaryOut,
    PoUpdateIn,
    SkuSupplierSetIn,
    SkuSuppliersOut,
    SupplierCreateIn,
    SupplierListIn,
    SupplierOut,
    SupplierRefIn,
    SupplierUpdateIn,
)

BUYERS = ("admin", "manager", "purchaser")
READERS = BUYERS + ("planner", "accountant")
SUPPLIER_PATH, PO_PATH = "/{supplier}", "/{po}"

operation(
    "supplier-create", service="purchase", summary="Create a supplier", input=SupplierCreateIn,
    output=SupplierOut, roles=BUYERS, status=201, idempotent=True,
)(services.create_supplier)
operation(
    "supplier-get", service="purchase", summary="One supplier by id or code", input=SupplierRefIn,
    output=SupplierOut, roles=READERS, methods=("GET",), path=SUPPLIER_PATH,
)(services.get_supplier)
operation(
    "supplier-list", service="purchase", summary="List and search suppliers", input=SupplierListIn,
    output=Page[SupplierOut], roles=READERS, methods=("GET",),
)(services.list_suppliers)
operation(
    "supplier-update", service="purchase", summary="Change a supplier's contact, payment terms or active flag",
    input=SupplierUpdateIn, output=SupplierOut, roles=BUYERS, path=SUPPLIER_PATH,
)(services.update_supplier)
operation(
    "sku-supplier-set", service="purchase", summary="Add, change or remove a supplier of a SKU (one preferred)",
    input=SkuSupplierSetIn, output=SkuSuppliersOut, roles=BUYERS,
)(services.set_sku_supplier)
operation(
    "po-create", service="purchase", summary="Create a draft purchase order", input=PoCreateIn, output=PoOut,
    roles=BUYERS, status=201, idempotent=True,
)(services.create_po)
operation(
    "po-get", service="purchase", summary="One purchase order by id or number", input=PoRefIn, output=PoOut,
    roles=READERS + ("warehouse",), methods=("GET",), path=PO_PATH,
)(services.get_po)
operation(
    "po-list", service="purchase", summary="List purchase orders by status, supplier, SKU and dates",
    input=PoListIn, output=Page[PoSummaryOut], roles=READERS + ("warehouse",), methods=("GET",),
)(services.list_pos)
operation(
    "po-update", service="purchase", summary="Change a draft purchase order", input=PoUpdateIn, output=PoOut,
    roles=BUYERS, path=PO_PATH,
)(services.update_po)
operation(
    "po-approve", service="purchase", summary="Approve a draft PO (a purchaser up to the approval limit)",
    input=PoRefIn, output=PoOut, roles=BUYERS, idempotent=True, path=PO_PATH,
)(services.approve_po)
operation(
    "po-cancel", service="purchase", summary="Cancel a PO before any receipt", input=PoEndIn, output=PoOut,
    roles=BUYERS, path=PO_PATH,
)(services.cancel_po)
operation(
    "po-receive", service="purchase", summary="Receive goods against an approved PO, wholly or in part",
    input=PoReceiveIn, output=PoOut, roles=BUYERS + ("warehouse",), idempotent=True, path=PO_PATH,
)(services.receive_po)
operation(
    "po-close", service="purchase", summary="End a partially received PO", input=PoEndIn, output=PoOut,
    roles=BUYERS, path=PO_PATH,
)(services.close_po)
