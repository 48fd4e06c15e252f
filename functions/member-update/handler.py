"""member-update: Change a member's name, phone, email or active flag."""
from erp_common.http import function_handler

handle = function_handler("membership", "member-update")
