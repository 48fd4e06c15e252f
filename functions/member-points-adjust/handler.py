"""member-points-adjust: Add or take a member's points by hand, with a reason."""
from erp_common.http import function_handler

handle = function_handler("membership", "member-points-adjust")
