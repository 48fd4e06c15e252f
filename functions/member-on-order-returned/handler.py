"""member-on-order-returned: Reverse the returned share of an order's points."""
from erp_common.http import function_handler

handle = function_handler("membership", "member-on-order-returned")
