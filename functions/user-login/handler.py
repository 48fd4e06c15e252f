"""user-login: Sign in: username and password for an access token."""
from erp_common.http import function_handler

handle = function_handler("identity", "user-login")
