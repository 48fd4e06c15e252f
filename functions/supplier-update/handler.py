"""supplier-update: Change a supplier's contact, payment terms or active flag."""
from erp_common.http import function_handler

handle = function_handler("purchasing", "supplier-update")
