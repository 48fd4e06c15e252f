"""The order pack (stack.ce.yml): every order operation at /function/order/<operation>."""
from erp_common.http import pack_handler

handle = pack_handler("order", ("sales",))
