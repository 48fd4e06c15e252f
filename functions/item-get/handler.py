"""item-get: One item with its category and SKUs."""
from erp_common.http import function_handler

handle = function_handler("catalog", "item-get")
