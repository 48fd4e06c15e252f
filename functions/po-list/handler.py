"""po-list: List purchase orders by status, supplier, SKU and dates."""
from erp_common.http import function_handler

handle = function_handler("purchasing", "po-list")
