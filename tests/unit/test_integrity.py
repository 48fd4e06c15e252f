"""A unique value taken by a concurrent request: the 409 names the field, on both backends."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy.exc import IntegrityError

from erp_common.catalog.models import Category
from erp_common.db import transaction, utcnow
from erp_common.http import integrity_conflict
from erp_common.identity.models import User
from erp_common.inventory.models import Warehouse


def _refused(*rows) -> IntegrityError:
    with pytest.raises(IntegrityError) as raised, transaction() as session:
        for row in rows:
            session.add(row)
            session.flush()
    return raised.value


def _field(exc: IntegrityError) -> str:
    conflict = integrity_conflict(exc)
    assert conflict.status == 409 and conflict.code == "already_taken", conflict.to_body()
    return conflict.details[0]["field"]


def test_a_taken_single_column_value_is_named():
    code, now = f"W{uuid.uuid4().hex[:8]}", utcnow()
    warehouse = dict(code=code, name="x", address="", is_default=False, is_active=True, created_at=now)
    assert _field(_refused(Warehouse(**warehouse), Warehouse(**warehouse))) == "code"
    user = dict(username=f"u{uuid.uuid4().hex[:8]}", password_hash="x", full_name="", is_active=True,
                token_version=1, created_at=now, updated_at=now)
    assert _field(_refused(User(**user), User(**user))) == "username"


def test_a_taken_name_among_siblings_is_named():
    name, now = f"c{uuid.uuid4().hex[:8]}", utcnow()
    category = dict(name=name, parent_id=1, path="/1/", level=2, sort_order=0, created_at=now, updated_at=now)
    assert _field(_refused(Category(**category), Category(**category))) == "name"


def test_other_refusals_stay_generic():
    class Orig(Exception):
        pass

    conflict = integrity_conflict(IntegrityError("INSERT ...", {}, Orig("FOREIGN KEY constraint failed")))
    assert conflict.status == 409 and not conflict.details
