"""workorder-cancel: Cancel a work order and release what is reserved."""
from erp_common.http import function_handler

handle = function_handler("manufacturing", "workorder-cancel")
