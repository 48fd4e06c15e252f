"""item-update: Change an item, its status, its price or its SKUs' prices."""
from erp_common.http import function_handler

handle = function_handler("catalog", "item-update")
