"""order-get: One order by id or number."""
from erp_common.http import function_handler

handle = function_handler("sales", "order-get")
