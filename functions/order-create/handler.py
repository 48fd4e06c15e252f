"""order-create: create an order, priced from the catalog, every line reserved or none."""
from erp_common.http import function_handler

handle = function_handler("order-create")
