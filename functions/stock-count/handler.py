"""stock-count: Record a stocktake and post the differences."""
from erp_common.http import function_handler

handle = function_handler("inventory", "stock-count")
