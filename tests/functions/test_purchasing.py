"""Purchasing functions through the gateway over HTTP: suppliers (create, list), roles, bad input."""
from __future__ import annotations

import pytest

from tests.conftest import auth, unique
from tests.functions.test_identity import assert_error


@pytest.fixture(scope="module")
def purchaser(make_user):
    return make_user("purchaser")[1]


def create(client, token, body, key=None):
    headers = auth(token)
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/function/supplier-create", json=body, headers=headers)


class TestSuppliers:
    def test_create_then_find_it_in_the_list(self, client, purchaser):
        code = unique("SUP")
        response = create(client, purchaser, {"code": code, "name": "华南纺织 Textiles", "phone": "+86 20 1234 5678",
                                              "email": "sales@textiles.example", "payment_terms": "NET30"})
        assert response.status_code == 201, response.text
        supplier = response.json()
        assert supplier["code"] == code and supplier["is_active"] is True and supplier["payment_terms"] == "NET30"
        assert supplier["created_at"].endswith("Z")
        listed = client.get("/function/supplier-list", params={"q": code}, headers=auth(purchaser)).json()
        assert listed["total"] == 1 and listed["items"][0]["id"] == supplier["id"]
        by_name = client.get("/function/supplier-list", params={"q": "华南纺织"}, headers=auth(purchaser)).json()
        assert by_name["total"] >= 1

    def test_a_taken_code_is_409_naming_the_field(self, client, purchaser):
        code = unique("SUP")
        assert create(client, purchaser, {"code": code, "name": "A"}).status_code == 201
        assert_error(create(client, purchaser, {"code": code, "name": "B"}), 409, "supplier_code_taken", "code")

    def test_a_retry_with_the_same_key_creates_nothing_twice(self, client, purchaser):
        body, key = {"code": unique("SUP"), "name": "Retry Ltd"}, unique("key")
        first, again = create(client, purchaser, body, key), create(client, purchaser, body, key)
        assert first.status_code == again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]

    @pytest.mark.parametrize("body, field", [
        ({"name": "no code"}, "code"),
        ({"code": "has space", "name": "x"}, "code"),
        ({"code": "OK1", "name": ""}, "name"),
        ({"code": "OK2", "name": "x", "email": "not-an-email"}, "email"),
        ({"code": "OK3", "name": "x", "colour": "red"}, "colour"),
    ])
    def test_bad_input_is_422_naming_the_field(self, client, purchaser, body, field):
        assert_error(create(client, purchaser, body), 422, "validation_error", field)

    def test_roles(self, client, make_user):
        cashier = make_user("cashier")[1]
        assert_error(create(client, cashier, {"code": unique("SUP"), "name": "x"}), 403, "forbidden")
        assert_error(client.get("/function/supplier-list", headers=auth(cashier)), 403, "forbidden")
        accountant = make_user("accountant")[1]
        assert client.get("/function/supplier-list", headers=auth(accountant)).status_code == 200
        assert_error(client.get("/function/supplier-list"), 401)

    def test_the_seed_paths_health_and_docs(self, client, purchaser):
        response = client.post("/purchase/supplier-create", json={"code": unique("SUP"), "name": "Seed path"},
                               headers=auth(purchaser))
        assert response.status_code == 201, response.text
        assert client.get("/purchase/health").json()["status"] == "ok"
        spec = client.get("/purchase/openapi.json").json()
        assert set(spec["paths"]) == {"/function/supplier-create", "/function/supplier-list"}
