"""member-list: List and search members."""
from erp_common.http import function_handler

handle = function_handler("membership", "member-list")
