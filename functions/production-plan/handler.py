"""production-plan: Explode BOMs, net against stock and open POs, list shortages; draft POs on request."""
from erp_common.http import function_handler

handle = function_handler("manufacturing", "production-plan")
