"""job-expire-coupons: Mark expired the coupons past their expiry."""
from erp_common.http import function_handler

handle = function_handler("promotion", "job-expire-coupons")
