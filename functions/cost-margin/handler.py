"""cost-margin: Revenue, COGS and gross margin per SKU and category for a period (JSON or CSV)."""
from erp_common.http import function_handler

handle = function_handler("costing", "cost-margin")
