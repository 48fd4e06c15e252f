"""coupon-claim: A member claims a coupon issued to them."""
from erp_common.http import function_handler

handle = function_handler("promotion", "coupon-claim")
