"""category-create: Create a category (top level or under a parent)."""
from erp_common.http import function_handler

handle = function_handler("catalog", "category-create")
