"""stock-ledger: The stock ledger: every movement, filtered and paginated."""
from erp_common.http import function_handler

handle = function_handler("inventory", "stock-ledger")
