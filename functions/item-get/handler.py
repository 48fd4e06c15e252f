"""item-get: one item with its category and SKUs (cached)."""
from erp_common.http import function_handler

handle = function_handler("item-get")
