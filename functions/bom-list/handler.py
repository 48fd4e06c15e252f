"""bom-list: BOMs by finished SKU (current versions or all)."""
from erp_common.http import function_handler

handle = function_handler("manufacturing", "bom-list")
