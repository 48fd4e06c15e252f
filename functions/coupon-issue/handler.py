"""coupon-issue: Issue coupons of a template to members, in bulk."""
from erp_common.http import function_handler

handle = function_handler("promotion", "coupon-issue")
