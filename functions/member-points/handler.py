"""member-points: A member's points ledger."""
from erp_common.http import function_handler

handle = function_handler("membership", "member-points")
