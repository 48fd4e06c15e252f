"""Purchasing: suppliers (and, next, purchase orders and their receipts).

Public face: ``erp_common.purchasing.api``.
"""
from ..domains import Domain

DOMAIN = Domain("purchasing", "Suppliers, purchase orders and goods received")
