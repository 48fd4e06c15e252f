"""Membership: members, their tiers and their points ledger.

Public face: ``erp_common.membership.api``.
"""
from ..domains import Domain

DOMAIN = Domain("membership", "Members, tiers and points", depends=("jobs",))
