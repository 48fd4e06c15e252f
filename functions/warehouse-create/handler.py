"""warehouse-create: Create a warehouse."""
from erp_common.http import function_handler

handle = function_handler("inventory", "warehouse-create")
