"""Purchasing: suppliers, the suppliers of each SKU, purchase orders and the goods they bring in.

Public face: ``erp_common.purchasing.api``.
"""
from ..domains import Domain

DOMAIN = Domain("purchasing", "Suppliers, purchase orders and goods received", depends=("catalog", "inventory"))
