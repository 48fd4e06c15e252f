"""item-list: search, filter, sort and page items."""
from erp_common.http import function_handler

handle = function_handler("item-list")
