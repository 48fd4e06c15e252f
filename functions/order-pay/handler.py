"""order-pay: record the payment of an order's amount due."""
from erp_common.http import function_handler

handle = function_handler("order-pay")
