"""member-get: One member by id, code, phone or email."""
from erp_common.http import function_handler

handle = function_handler("membership", "member-get")
