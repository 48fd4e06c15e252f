"""po-create: Create a draft purchase order."""
from erp_common.http import function_handler

handle = function_handler("purchasing", "po-create")
