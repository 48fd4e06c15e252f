"""warehouse-create: create a warehouse."""
from erp_common.http import function_handler

handle = function_handler("warehouse-create")
