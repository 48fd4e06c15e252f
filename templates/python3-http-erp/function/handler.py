"""A new ERP function: name the operation it serves (declared in the shared layer)."""
from erp_common.http import function_handler

handle = function_handler("user-me")
