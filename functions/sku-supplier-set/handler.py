"""sku-supplier-set: Add, change or remove a supplier of a SKU (one preferred)."""
from erp_common.http import function_handler

handle = function_handler("purchasing", "sku-supplier-set")
