"""promo-update: Change a promotion: enable or disable it, its window, figures, limits."""
from erp_common.http import function_handler

handle = function_handler("promotion", "promo-update")
