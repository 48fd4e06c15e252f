"""order-pay: Record the payment of the amount due."""
from erp_common.http import function_handler

handle = function_handler("sales", "order-pay")
