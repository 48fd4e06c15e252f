"""workorder-complete: Make all or part: issue components, receive goods at the rolled-up cost."""
from erp_common.http import function_handler

handle = function_handler("manufacturing", "workorder-complete")
