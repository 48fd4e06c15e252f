"""item-list: Search, filter, sort and page items."""
from erp_common.http import function_handler

handle = function_handler("catalog", "item-list")
