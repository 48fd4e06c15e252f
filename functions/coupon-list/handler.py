"""coupon-list: A member's coupons with their status."""
from erp_common.http import function_handler

handle = function_handler("promotion", "coupon-list")
