"""category-list: The category tree."""
from erp_common.http import function_handler

handle = function_handler("catalog", "category-list")
