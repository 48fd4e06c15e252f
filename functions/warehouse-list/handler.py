"""warehouse-list: List and search warehouses."""
from erp_common.http import function_handler

handle = function_handler("inventory", "warehouse-list")
