"""Inventory: warehouses, stock per SKU and warehouse, and the immutable stock ledger.

Public face: ``erp_common.inventory.api`` (post a stock document, resolve a warehouse, the events).
"""
from ..domains import Domain

DOMAIN = Domain("inventory", "Warehouses, stock levels and the stock ledger", depends=("catalog",))
