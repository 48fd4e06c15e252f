"""member-on-order-cancelled: Take back a paid and cancelled order's points."""
from erp_common.http import function_handler

handle = function_handler("membership", "member-on-order-cancelled")
