"""The item pack (stack.ce.yml): every item operation at /function/item/<operation>."""
from erp_common.http import pack_handler

handle = pack_handler("item", ("catalog",))
