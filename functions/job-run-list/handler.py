"""job-run-list: the run log of scheduled jobs."""
from erp_common.http import function_handler

handle = function_handler("job-run-list")
