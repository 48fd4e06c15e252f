"""stock-transfer: move stock between two warehouses, atomically."""
from erp_common.http import function_handler

handle = function_handler("stock-transfer")
