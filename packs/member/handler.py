"""The member pack (stack.ce.yml): every member operation at /function/member/<operation>."""
from erp_common.http import pack_handler

handle = pack_handler("member", ("membership",))
