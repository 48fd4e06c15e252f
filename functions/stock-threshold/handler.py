"""stock-threshold: set a SKU's low-stock threshold."""
from erp_common.http import function_handler

handle = function_handler("stock-threshold")
