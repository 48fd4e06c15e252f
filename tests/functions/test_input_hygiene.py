"""Issue 9 through the gateway: garbage in names, ids and numbers is a 422 naming the field."""
from __future__ import annotations

import pytest

from tests.conftest import auth, unique
from tests.functions.test_catalog import make_category
from tests.functions.test_identity import assert_error


@pytest.fixture(scope="module")
def category(client, admin_token):
    return make_category(client, admin_token)


@pytest.mark.parametrize("field, value", [
    ("name", "bad\x00name"), ("name", "\u200b\u200c"), ("name", "\u0301"), ("name", "\ufeff \u2060"),
    ("name", "tab\there"), ("brand", "a\x1b[31m"), ("description", "nul\x00"), ("unit", "\u200f"),
    ("category_id", True), ("category_id", "\u0661\u0662"), ("category_id", "1_0"),
    ("price", True), ("price", "1_000"), ("price", "\u0661\u0662"),
])
def test_item_create_refuses_garbage(client, admin_token, category, field, value):
    body = {"name": unique("item"), "category_id": category["id"], "price": "10.00", field: value}
    response = client.post("/function/item-create", json=body, headers=auth(admin_token))
    error = assert_error(response, 422, "validation_error", field)
    assert error["details"][0]["message"]


def test_a_description_keeps_its_lines(client, admin_token, category):
    body = {"name": unique("item"), "category_id": category["id"], "price": "10.00",
            "description": "line one\n\tline two"}
    response = client.post("/function/item-create", json=body, headers=auth(admin_token))
    assert response.status_code == 201, response.text
    assert response.json()["description"] == "line one\n\tline two"


@pytest.mark.parametrize("url, field", [
    ("/function/item-list?page=%D9%A1", "page"), ("/function/item-list?page_size=1_0", "page_size"),
    ("/function/item-list?category_id=true", "category_id"), ("/function/user-list?q=a%00b", "q"),
    ("/function/stock-query?warehouse_id=%EF%BC%91", "warehouse_id"),
])
def test_queries_take_ascii_numbers_and_clean_text(client, admin_token, url, field):
    assert_error(client.get(url, headers=auth(admin_token)), 422, "validation_error", field)


@pytest.mark.parametrize("path, body, field", [
    ("/function/warehouse-create", {"code": unique("W"), "name": "\u200b"}, "name"),
    ("/function/supplier-create", {"code": unique("S"), "name": "ok", "address": "x\x00"}, "address"),
    ("/function/category-create", {"name": "\u3164"}, "name"),
    ("/function/category-create", {"name": "ok", "parent_id": True}, "parent_id"),
    ("/function/stock-adjust", {"sku": 1, "direction": "in", "quantity": "\u0662", "reason": "r"}, "quantity"),
    ("/function/user-create", {"username": unique("u"), "password": "x" * 12, "roles": ["admin"],
                               "full_name": "a\u0085b"}, "full_name"),
])
def test_every_domain_gets_the_rules(client, admin_token, path, body, field):
    assert_error(client.post(path, json=body, headers=auth(admin_token)), 422, "validation_error", field)
