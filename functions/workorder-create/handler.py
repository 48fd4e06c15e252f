"""workorder-create: A draft work order (SKU, quantity, BOM, warehouse)."""
from erp_common.http import function_handler

handle = function_handler("manufacturing", "workorder-create")
