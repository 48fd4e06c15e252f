"""supplier-create: Create a supplier."""
from erp_common.http import function_handler

handle = function_handler("purchasing", "supplier-create")
