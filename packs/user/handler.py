"""The user pack (stack.ce.yml): every user operation at /function/user/<operation>."""
from erp_common.http import pack_handler

handle = pack_handler("user", ("identity",))
