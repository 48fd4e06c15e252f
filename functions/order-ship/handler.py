"""order-ship: Ship a paid order, wholly or in part."""
from erp_common.http import function_handler

handle = function_handler("sales", "order-ship")
