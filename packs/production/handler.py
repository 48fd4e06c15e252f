"""The production pack (stack.ce.yml): every production operation at /function/production/<operation>."""
from erp_common.http import pack_handler

handle = pack_handler("production", ("manufacturing",))
