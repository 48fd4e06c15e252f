"""The job pack (stack.ce.yml): every job operation at /function/job/<operation>."""
from erp_common.http import pack_handler

handle = pack_handler("job")
