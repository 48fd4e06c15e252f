"""user-update: Change a user's details, roles, active flag or password."""
from erp_common.http import function_handler

handle = function_handler("identity", "user-update")
