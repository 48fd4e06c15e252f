"""Promotion: promotions, coupons and the one pricing engine quotes and orders go through.

Public face: ``erp_common.promotion.api``.
"""
from ..domains import Domain

DOMAIN = Domain("promotion", "Promotions, coupons and pricing", depends=("catalog", "jobs", "membership"))
