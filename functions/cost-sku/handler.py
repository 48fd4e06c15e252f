"""cost-sku: A SKU's moving average cost and its history."""
from erp_common.http import function_handler

handle = function_handler("costing", "cost-sku")
