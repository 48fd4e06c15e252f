"""po-receive: Receive goods against an approved PO, wholly or in part."""
from erp_common.http import function_handler

handle = function_handler("purchasing", "po-receive")
