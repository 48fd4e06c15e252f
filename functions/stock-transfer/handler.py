"""stock-transfer: Move stock between two warehouses, atomically."""
from erp_common.http import function_handler

handle = function_handler("inventory", "stock-transfer")
