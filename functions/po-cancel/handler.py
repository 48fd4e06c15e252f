"""po-cancel: Cancel a PO before any receipt."""
from erp_common.http import function_handler

handle = function_handler("purchasing", "po-cancel")
