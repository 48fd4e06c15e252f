"""bom-get: One BOM version with its components."""
from erp_common.http import function_handler

handle = function_handler("manufacturing", "bom-get")
