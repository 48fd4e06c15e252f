"""workorder-list: List work orders by status, SKU and dates."""
from erp_common.http import function_handler

handle = function_handler("manufacturing", "workorder-list")
