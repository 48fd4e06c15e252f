"""Inventory: warehouses, stock per SKU and warehouse, and the immutable stock ledger."""
