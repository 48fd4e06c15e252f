"""member-on-order-paid: Award a paid order's points, once per order."""
from erp_common.http import function_handler

handle = function_handler("membership", "member-on-order-paid")
