"""user-create: Create a user with roles."""
from erp_common.http import function_handler

handle = function_handler("identity", "user-create")
