"""job-member-tiers: Put every member in the tier their lifetime spend reaches."""
from erp_common.http import function_handler

handle = function_handler("membership", "job-member-tiers")
