"""user-list: list and search users."""
from erp_common.http import function_handler

handle = function_handler("user-list")
