"""workorder-get: One work order by id or number."""
from erp_common.http import function_handler

handle = function_handler("manufacturing", "workorder-get")
