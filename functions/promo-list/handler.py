"""promo-list: List promotions."""
from erp_common.http import function_handler

handle = function_handler("promotion", "promo-list")
