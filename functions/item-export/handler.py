"""item-export: items and SKUs as CSV, in the item-import shape."""
from erp_common.http import function_handler

handle = function_handler("item-export")
