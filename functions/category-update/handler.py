"""category-update: Rename, reorder or move a category."""
from erp_common.http import function_handler

handle = function_handler("catalog", "category-update")
