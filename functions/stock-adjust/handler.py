"""stock-adjust: Put stock in or take it out of a warehouse, with a reason."""
from erp_common.http import function_handler

handle = function_handler("inventory", "stock-adjust")
