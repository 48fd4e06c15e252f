"""Sales: orders, their reservations, payments, shipments, returns and refunds.

Public face: ``erp_common.sales.api`` (its events and the order workflow).
"""
from ..domains import Domain

DOMAIN = Domain("sales", "Orders: reservation, payment, shipment, returns and refunds",
                depends=("catalog", "inventory", "jobs", "promotion"))
