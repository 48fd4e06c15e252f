"""The promo pack (stack.ce.yml): every promo operation at /function/promo/<operation>."""
from erp_common.http import pack_handler

handle = pack_handler("promo", ("promotion",))
