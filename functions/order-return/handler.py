"""order-return: Take back shipped goods into stock and record a refund."""
from erp_common.http import function_handler

handle = function_handler("sales", "order-return")
