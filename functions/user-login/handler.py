"""user-login: sign in with username and password, get an access token."""
from erp_common.http import function_handler

handle = function_handler("user-login")
