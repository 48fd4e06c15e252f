"""job-relay-events: publish outbox events that were never published (scheduled)."""
from erp_common.http import function_handler

handle = function_handler("job-relay-events")
