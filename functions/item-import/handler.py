"""item-import: Create or update items and SKUs from a CSV file."""
from erp_common.http import function_handler

handle = function_handler("catalog", "item-import")
