"""bom-create: The first BOM of a finished SKU."""
from erp_common.http import function_handler

handle = function_handler("manufacturing", "bom-create")
