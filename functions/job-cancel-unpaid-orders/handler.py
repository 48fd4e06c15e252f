"""job-cancel-unpaid-orders: cancel orders left unpaid too long and release their stock (every minute)."""
from erp_common.http import function_handler

handle = function_handler("job-cancel-unpaid-orders")
