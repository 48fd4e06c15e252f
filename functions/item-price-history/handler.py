"""item-price-history: An item's price changes (its own and its SKUs'), newest first."""
from erp_common.http import function_handler

handle = function_handler("catalog", "item-price-history")
