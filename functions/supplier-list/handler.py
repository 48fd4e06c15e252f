"""supplier-list: List and search suppliers."""
from erp_common.http import function_handler

handle = function_handler("purchasing", "supplier-list")
