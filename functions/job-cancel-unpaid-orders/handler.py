"""job-cancel-unpaid-orders: Cancel orders left unpaid too long and release their stock."""
from erp_common.http import function_handler

handle = function_handler("sales", "job-cancel-unpaid-orders")
