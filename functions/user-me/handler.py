"""user-me: the signed-in user."""
from erp_common.http import function_handler

handle = function_handler("user-me")
