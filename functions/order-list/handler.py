"""order-list: List orders by status, customer and dates."""
from erp_common.http import function_handler

handle = function_handler("sales", "order-list")
