"""price-quote: Price a cart: promotions, coupon, points, total (as an order would)."""
from erp_common.http import function_handler

handle = function_handler("promotion", "price-quote")
