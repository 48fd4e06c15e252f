"""Catalog: categories, items (SPUs) and their SKUs, prices and price history.

Public face: ``erp_common.catalog.api``.
"""
from ..domains import Domain

DOMAIN = Domain("catalog", "Categories, items and SKUs, prices and their history")
