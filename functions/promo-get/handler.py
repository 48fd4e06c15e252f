"""promo-get: One promotion."""
from erp_common.http import function_handler

handle = function_handler("promotion", "promo-get")
