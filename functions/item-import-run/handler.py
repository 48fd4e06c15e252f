"""item-import-run: Run a large import in the background, batch by batch."""
from erp_common.http import function_handler

handle = function_handler("catalog", "item-import-run")
