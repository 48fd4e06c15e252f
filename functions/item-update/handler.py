"""item-update: change an item, its status, its price or its SKUs' prices (kept in the price history)."""
from erp_common.http import function_handler

handle = function_handler("item-update")
