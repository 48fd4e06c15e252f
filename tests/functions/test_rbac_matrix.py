"""Every signed-in function against every role: allowed roles get past the role check, the others
get 403 — the whole matrix of the declarations, through the gateway (the RBAC matrix an attacker
would try, kept as a test). Requests name records that do not exist, so nothing is changed."""
from __future__ import annotations

import re

import pytest

from erp_common.auth import ROLES
from erp_common.domains import load
from erp_common.operations import CONNECTOR, PUBLIC, REGISTRY, SIGNED_IN
from tests.conftest import auth


@pytest.fixture(scope="module")
def tokens(make_user):
    return {role: make_user(role)[1] for role in ROLES}


def test_every_role_against_every_function(client, tokens):
    load()
    wrong_allows, wrong_denies, checked = [], [], 0
    for op in sorted(REGISTRY.values(), key=lambda o: o.name):
        if op.roles in (PUBLIC, CONNECTOR):
            continue
        path = f"/function/{op.name}" + re.sub(r"\{\w+\}", "2147483000", op.path or "")  # no such record
        method = op.methods[0]
        for role in ROLES:
            response = client.request(method, path, headers=auth(tokens[role]),
                                      **({} if method == "GET" else {"json": {}}))
            allowed = op.roles == SIGNED_IN or role == "admin" or role in op.roles
            checked += 1
            if allowed and response.status_code in (401, 403):
                wrong_denies.append((op.name, role, response.status_code))
            if not allowed and response.status_code != 403:
                wrong_allows.append((op.name, role, response.status_code))
    assert not wrong_allows, wrong_allows
    assert not wrong_denies, wrong_denies
    assert checked > 500
