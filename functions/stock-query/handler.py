"""stock-query: Stock by SKU, warehouse, or low stock only."""
from erp_common.http import function_handler

handle = function_handler("inventory", "stock-query")
