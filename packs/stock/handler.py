"""The stock pack (stack.ce.yml): every stock operation at /function/stock/<operation>."""
from erp_common.http import pack_handler

handle = pack_handler("stock", ("inventory",))
