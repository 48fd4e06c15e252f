"""item-export: Items and SKUs as CSV (the item-import shape)."""
from erp_common.http import function_handler

handle = function_handler("catalog", "item-export")
