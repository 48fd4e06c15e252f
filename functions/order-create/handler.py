"""order-create: Create an order: catalog prices, all lines reserved or none."""
from erp_common.http import function_handler

handle = function_handler("sales", "order-create")
