"""workorder-release: Reserve every component, or 409 listing the shortages."""
from erp_common.http import function_handler

handle = function_handler("manufacturing", "workorder-release")
