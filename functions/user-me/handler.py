"""user-me: The signed-in user."""
from erp_common.http import function_handler

handle = function_handler("identity", "user-me")
