"""member-register: Register a member (phone and/or email, each unique)."""
from erp_common.http import function_handler

handle = function_handler("membership", "member-register")
