"""sku-get: One SKU by id, code or barcode."""
from erp_common.http import function_handler

handle = function_handler("catalog", "sku-get")
