"""order-cancel: Cancel an order that has not shipped and release its stock."""
from erp_common.http import function_handler

handle = function_handler("sales", "order-cancel")
