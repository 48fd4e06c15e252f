"""Sales rules without HTTP: the two body spellings, order numbers, totals, statuses, deadlock retries."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from erp_common.domains import load as load_operations
from erp_common.http import dispatch
from erp_common.operations import REGISTRY
from erp_common.sales import services
from erp_common.sales.models import order_id_from_number, order_number
from erp_common.sales.schemas import OrderCreateIn, OrderRefIn


def test_the_seed_body_and_the_clean_body_read_the_same():
    seed = OrderCreateIn.model_validate(
        {"customer_id": 1, "details": [{"sku_id": "SKU001", "qty_ordered": 2, "unit_price": 100.00}]})
    clean = OrderCreateIn.model_validate({"customer_id": 1, "lines": [{"sku": "SKU001", "qty": "2"}]})
    assert seed.lines[0].sku == clean.lines[0].sku == "SKU001"
    assert seed.lines[0].qty == clean.lines[0].qty == Decimal(2)
    assert seed.lines[0].unit_price == Decimal("100") and clean.lines[0].unit_price is None
    assert OrderCreateIn.model_validate({"member_id": 5, "lines": [{"sku_id": 7, "quantity": 1}]}).lines[0].sku == 7


@pytest.mark.parametrize("body", [
    {"lines": [{"sku": "A", "qty": 1, "price": 1}]},
    {"lines": [{"sku": "A", "qty": 1}], "total": 5},
    {"lines": [{"sku": "A", "qty": 1.00001}]},
    {"lines": [{"sku": "", "qty": 1}]},
    {"lines": [{"sku": 0, "qty": 1}]},
    {"lines": [{"sku": "A", "qty": 1, "unit_price": "NaN"}]},
])
def test_bad_bodies_are_refused(body):
    with pytest.raises(ValidationError):
        OrderCreateIn.model_validate(body)


def test_order_numbers_are_readable_and_unique_by_id():
    day = datetime(2026, 11, 28, tzinfo=timezone.utc)
    assert order_number(123, day) == "SO20261128000123"
    assert order_number(1234567, day) == "SO202611281234567"
    assert order_id_from_number("SO202611281234567") == 1234567 and order_id_from_number("SO2026") is None
    assert OrderRefIn.model_validate({"order": "12"}).order == "12"


def test_goods_status():
    def order(*lines):
        return SimpleNamespace(lines=[SimpleNamespace(quantity=Decimal(q), qty_shipped=Decimal(s),
                                                      qty_returned=Decimal(r)) for q, s, r in lines])

    assert services._goods_status(order((2, 0, 0))) == "paid"
    assert services._goods_status(order((2, 1, 0))) == "partially_shipped"
    assert services._goods_status(order((2, 2, 0), (1, 1, 0))) == "shipped"
    assert services._goods_status(order((2, 2, 1))) == "partially_returned"
    assert services._goods_status(order((2, 1, 1))) == "partially_returned"
    assert services._goods_status(order((2, 2, 2), (1, 1, 1))) == "returned"


def _deadlock() -> OperationalError:
    return OperationalError("UPDATE stock_levels ...", {}, Exception(1213, "Deadlock found when trying to get lock"))


def _create_event(sku_id: int, token: str):
    return SimpleNamespace(method="POST", path="/", headers={"Authorization": f"Bearer {token}"},
                           body=json.dumps({"lines": [{"sku": sku_id, "qty": 1}]}).encode(), query={})


def test_a_deadlock_is_retried_and_never_a_500(monkeypatch, make_sku, put_stock, make_user, stock_of):
    load_operations()
    sku_id, _ = make_sku()
    put_stock(sku_id, 5)
    _, token = make_user("cashier")
    real, calls = services.inventory.post_stock, []

    def deadlocks_twice(*args, **kwargs):
        calls.append(1)
        if len(calls) <= 2:
            raise _deadlock()
        return real(*args, **kwargs)

    monkeypatch.setattr(services.inventory, "post_stock", deadlocks_twice)
    response = dispatch(REGISTRY["order-create"], _create_event(sku_id, token))
    assert response["statusCode"] == 201 and len(calls) == 3
    assert stock_of(sku_id) == (Decimal(5), Decimal(1))

    def always(*args, **kwargs):
        raise _deadlock()

    monkeypatch.setattr(services.inventory, "post_stock", always)
    monkeypatch.setattr("erp_common.uow.time.sleep", lambda seconds: None)
    response = dispatch(REGISTRY["order-create"], _create_event(sku_id, token))
    assert response["statusCode"] == 503 and json.loads(response["body"])["error"]["code"] == "database_busy"
    assert response["headers"]["Retry-After"] == "1"
