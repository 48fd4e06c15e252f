"""supplier-get: One supplier by id or code."""
from erp_common.http import function_handler

handle = function_handler("purchasing", "supplier-get")
