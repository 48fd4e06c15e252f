"""sku-get: one SKU by id, code or barcode, what a till scans (cached)."""
from erp_common.http import function_handler

handle = function_handler("sku-get")
