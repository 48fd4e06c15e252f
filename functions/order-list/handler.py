"""order-list: list orders by status, customer and dates."""
from erp_common.http import function_handler

handle = function_handler("order-list")
