"""category-list: the category tree, each category with its children and path."""
from erp_common.http import function_handler

handle = function_handler("category-list")
