"""item-import: create or update items and SKUs from CSV, with a report of rejected rows."""
from erp_common.http import function_handler

handle = function_handler("item-import")
