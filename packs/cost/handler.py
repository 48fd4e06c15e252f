"""The cost pack (stack.ce.yml): every cost operation at /function/cost/<operation>."""
from erp_common.http import pack_handler

handle = pack_handler("cost", ("costing",))
