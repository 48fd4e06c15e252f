"""stock-ledger: the stock ledger, filtered and paginated."""
from erp_common.http import function_handler

handle = function_handler("stock-ledger")
