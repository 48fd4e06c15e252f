"""Manufacturing: bills of materials, work orders, the production plan and replenishment.

Public face: ``erp_common.manufacturing.api``.
"""
from ..domains import Domain

DOMAIN = Domain("manufacturing", "Bills of materials, work orders and production planning",
                depends=("catalog", "inventory", "purchasing", "jobs"))
