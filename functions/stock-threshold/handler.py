"""stock-threshold: Set a SKU's low-stock threshold (every warehouse or one)."""
from erp_common.http import function_handler

handle = function_handler("inventory", "stock-threshold")
