"""The job pack (stack.ce.yml): every job operation at /function/job/<operation>;
its scheduled jobs run when they are due (the cron connector calls it every minute)."""
from erp_common.http import pack_handler

handle = pack_handler("job", ("jobs", "manufacturing", "membership", "promotion", "sales"))
