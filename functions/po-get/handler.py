"""po-get: One purchase order by id or number."""
from erp_common.http import function_handler

handle = function_handler("purchasing", "po-get")
