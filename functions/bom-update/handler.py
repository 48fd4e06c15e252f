"""bom-update: A new version of a SKU's BOM (work orders keep theirs)."""
from erp_common.http import function_handler

handle = function_handler("manufacturing", "bom-update")
