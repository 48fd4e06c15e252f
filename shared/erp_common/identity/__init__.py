"""Identity: users, roles and sign-in.

Every function authenticates through the platform's ``auth``, which reads the users' state from
this domain: it is loaded with every function. Public face: ``erp_common.identity.api``.
"""
from ..domains import Domain

DOMAIN = Domain("identity", "Users, roles and sign-in")
