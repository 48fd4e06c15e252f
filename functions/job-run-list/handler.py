"""job-run-list: The run log of scheduled jobs."""
from erp_common.http import function_handler

handle = function_handler("jobs", "job-run-list")
