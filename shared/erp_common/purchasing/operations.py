"""The purchasing functions (service ``purchase``): suppliers.

``purchaser`` and ``manager`` manage suppliers; they, ``planner`` and ``accountant`` read them.
"""
from __future__ import annotations

from ..operations import operation
from ..schemas import Page
from . import services
from .schemas import SupplierCreateIn, SupplierListIn, SupplierOut

BUYERS = ("admin", "manager", "purchaser")

operation(
    "supplier-create", service="purchase", summary="Create a supplier", input=SupplierCreateIn,
    output=SupplierOut, roles=BUYERS, status=201, idempotent=True,
)(services.create_supplier)
operation(
    "supplier-list", service="purchase", summary="List and search suppliers", input=SupplierListIn,
    output=Page[SupplierOut], roles=BUYERS + ("planner", "accountant"), methods=("GET",),
)(services.list_suppliers)
