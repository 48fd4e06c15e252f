"""The purchase pack (stack.ce.yml): every purchase operation at /function/purchase/<operation>."""
from erp_common.http import pack_handler

handle = pack_handler("purchase", ("purchasing",))
