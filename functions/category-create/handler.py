"""category-create: create a category, at the top level or under a parent."""
from erp_common.http import function_handler

handle = function_handler("category-create")
