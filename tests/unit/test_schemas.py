"""Money, quantities and times: exact in, exact out."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from erp_common.schemas import Input, PositiveMoney, Quantity, UtcDateTime


class Priced(Input):
    price: PositiveMoney
    qty: Quantity = Decimal("1")
    at: UtcDateTime | None = None


@pytest.mark.parametrize("raw, text", [(99, "99.00"), ("99.00", "99.00"), (0.1, "0.10"), ("1.2345", "1.2345"),
                                       ("100.5", "100.50")])
def test_money_is_exact_and_printed_with_cents(raw, text):
    model = Priced(price=raw)
    assert isinstance(model.price, Decimal)
    assert model.model_dump(mode="json")["price"] == text


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "1.23456", 0, -1, "abc", True and "x", 10**15])
def test_bad_money_is_refused(raw):
    with pytest.raises(ValidationError):
        Priced(price=raw)


def test_quantities_drop_trailing_zeros():
    assert Priced(price=1, qty="2.5000").model_dump(mode="json")["qty"] == "2.5"
    assert Priced(price=1, qty=Decimal("2.0000")).model_dump(mode="json")["qty"] == "2"


def test_times_are_utc():
    local = datetime(2026, 11, 28, 20, 0, tzinfo=timezone(timedelta(hours=8)))
    assert Priced(price=1, at=local).model_dump(mode="json")["at"] == "2026-11-28T12:00:00Z"
    assert Priced(price=1, at="2026-11-28T12:00:00").at.tzinfo == timezone.utc


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError, match="price2"):
        Priced(price=1, price2=2)


def test_json_numbers_reach_validation_exactly():
    import json
    from types import SimpleNamespace

    from erp_common.errors import BadRequest, ValidationFailed
    from erp_common.http import read_input
    from erp_common.operations import Operation

    op = Operation(name="t", service="t", domain="t", handler=lambda ctx, data: None, summary="", input=Priced,
                   output=None, roles="public", methods=("POST",), status=200, path=None, idempotent=False, topic=None,
                   schedule=None)
    data, _ = read_input(op, SimpleNamespace(method="POST", body=b'{"price": 0.1, "qty": 3}', query={}), "/")
    assert data.price == Decimal("0.1") and data.qty == 3
    with pytest.raises(ValidationFailed, match="price"):  # 17 places would round to 100.0 as a float
        read_input(op, SimpleNamespace(method="POST", body=b'{"price": 99.99999999999999999}', query={}), "/")
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    with pytest.raises((BadRequest, ValidationFailed)):
        read_input(op, SimpleNamespace(method="POST", body=json.dumps({"price": 1}).encode()[:-1] + b"," +
                                       b'"x": ' + deep + b"}", query={}), "/")
