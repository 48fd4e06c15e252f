"""member-tiers: Read (GET) or set (PUT) the tiers: threshold and discount rate."""
from erp_common.http import function_handler

handle = function_handler("membership", "member-tiers")
