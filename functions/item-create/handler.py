"""item-create: Create an item and its SKUs (one per spec combination)."""
from erp_common.http import function_handler

handle = function_handler("catalog", "item-create")
