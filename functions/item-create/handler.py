"""item-create: create an item and its SKUs, one per spec combination."""
from erp_common.http import function_handler

handle = function_handler("item-create")
