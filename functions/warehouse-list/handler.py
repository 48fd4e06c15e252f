"""warehouse-list: list and search warehouses."""
from erp_common.http import function_handler

handle = function_handler("warehouse-list")
