"""item-import-get: A background import's progress, then its report."""
from erp_common.http import function_handler

handle = function_handler("catalog", "item-import-get")
