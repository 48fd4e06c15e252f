"""job-replenish: Draft POs for SKUs below their low-stock threshold (daily)."""
from erp_common.http import function_handler

handle = function_handler("manufacturing", "job-replenish")
