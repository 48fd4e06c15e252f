"""Each process's copy of the enabled promotions (``promotion.checkout.active_promotions``): read once
while the promotions' version stands, read again once a change moves it, filtered by the time of
each order, and read from the database whenever the cache cannot say the version."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from erp_common import db, uow
from erp_common.cache import get_cache
from erp_common.promotion import checkout
from erp_common.promotion.schemas import PromotionCreateIn, PromotionUpdateIn
from erp_common.promotion.services import create_promotion, update_promotion


@pytest.fixture
def reads(monkeypatch):
    """How many times the enabled promotions were read from the database."""
    counted = []
    real = checkout._ACTIVE.rows
    monkeypatch.setattr(checkout._ACTIVE, "rows", lambda *a, **k: counted.append(1) or real(*a, **k))
    return counted


def _active(now=None) -> list:
    with db.transaction(readonly=True) as session:
        return checkout.active_promotions(session, now or db.utcnow())


def _create(sku_id: int, **fields) -> int:
    """A promotion of one SKU of the test's own (no other test's order is priced by it)."""
    data = PromotionCreateIn.model_validate({"name": f"copy {uuid.uuid4().hex[:6]}", "kind": "percent_off",
                                             "percent": 5, "scope": {"type": "skus", "ids": [sku_id]}, **fields})
    return uow.run(lambda ctx: create_promotion(ctx, data), uow.system_caller("test")).id


def test_the_copy_is_read_once_and_again_after_a_change(reads, make_sku):
    checkout.promotions_changed()
    first = _active()
    assert _active() == first and len(reads) == 1  # the second order read no promotion
    promotion_id = _create(make_sku()[0])  # its commit moves the version
    assert promotion_id in [p.id for p in _active()] and len(reads) == 2
    data = PromotionUpdateIn.model_validate({"promotion": promotion_id, "enabled": False})
    uow.run(lambda ctx: update_promotion(ctx, data), uow.system_caller("test"))
    assert promotion_id not in [p.id for p in _active()] and len(reads) == 3


def test_each_order_filters_the_copy_by_its_own_time(reads, make_sku):
    now = db.utcnow()
    promotion_id = _create(make_sku()[0], starts_at=(now + timedelta(hours=1)).isoformat(),
                           ends_at=(now + timedelta(hours=2)).isoformat())
    assert promotion_id not in [p.id for p in _active(now)]
    assert promotion_id in [p.id for p in _active(now + timedelta(minutes=90))]  # begun
    assert promotion_id not in [p.id for p in _active(now + timedelta(hours=3))]  # over
    assert len(reads) == 1


def test_without_a_version_every_order_reads_the_database_until_one_is_set(reads):
    get_cache().delete(checkout.VERSION_KEY)  # expired, or Redis did not answer
    _active()
    assert len(reads) == 1 and get_cache().get(checkout.VERSION_KEY) is not None  # set by that read
    _active()
    _active()
    assert len(reads) == 2  # kept from the second read on
