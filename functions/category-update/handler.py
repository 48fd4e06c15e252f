"""category-update: rename, reorder or move a category with its subtree."""
from erp_common.http import function_handler

handle = function_handler("category-update")
