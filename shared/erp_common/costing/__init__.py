"""Costing: what stock cost and what was earned (reads the inventory's costs and the sales ledger).

Public face: ``erp_common.costing.api``.
"""
from ..domains import Domain

DOMAIN = Domain("costing", "Unit costs, stock valuation and gross margin", depends=("catalog", "inventory", "sales"))
