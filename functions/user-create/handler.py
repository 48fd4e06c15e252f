"""user-create: create a user with roles."""
from erp_common.http import function_handler

handle = function_handler("user-create")
