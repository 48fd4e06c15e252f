"""job-relay-events: Publish outbox events that were never published."""
from erp_common.http import function_handler

handle = function_handler("jobs", "job-relay-events")
