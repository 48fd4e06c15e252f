"""stock-count: record a stocktake and post the differences."""
from erp_common.http import function_handler

handle = function_handler("stock-count")
