"""po-close: End a partially received PO."""
from erp_common.http import function_handler

handle = function_handler("purchasing", "po-close")
