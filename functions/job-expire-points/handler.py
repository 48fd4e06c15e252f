"""job-expire-points: Expire points older than ERP_POINTS_EXPIRE_DAYS."""
from erp_common.http import function_handler

handle = function_handler("membership", "job-expire-points")
