"""po-approve: Approve a draft PO (a purchaser up to the approval limit)."""
from erp_common.http import function_handler

handle = function_handler("purchasing", "po-approve")
