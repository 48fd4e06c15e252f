"""user-get: One user by id."""
from erp_common.http import function_handler

handle = function_handler("identity", "user-get")
