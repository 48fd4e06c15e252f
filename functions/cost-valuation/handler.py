"""cost-valuation: Stock value per SKU, warehouse and category, now or at a date (JSON or CSV)."""
from erp_common.http import function_handler

handle = function_handler("costing", "cost-valuation")
