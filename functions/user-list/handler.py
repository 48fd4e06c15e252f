"""user-list: List and search users."""
from erp_common.http import function_handler

handle = function_handler("identity", "user-list")
