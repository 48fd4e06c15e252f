"""coupon-template-create: Create a coupon template."""
from erp_common.http import function_handler

handle = function_handler("promotion", "coupon-template-create")
