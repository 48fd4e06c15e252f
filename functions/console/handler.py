"""console: The back-office console's pages (static files)."""
from erp_common.http import function_handler

handle = function_handler("console", "console")
