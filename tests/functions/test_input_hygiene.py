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


# --- one case rule for unique codes and names (both backends) ----------------------------------

def _post(client, token, function, body):
    return client.post(f"/function/{function}", json=body, headers=auth(token))


def test_usernames_differ_by_more_than_case(client, admin_token):
    name = unique("Alice")
    body = {"username": name, "password": "password-123", "roles": ["cashier"]}
    assert _post(client, admin_token, "user-create", body).status_code == 201
    again = _post(client, admin_token, "user-create", {**body, "username": name.lower()})
    error = assert_error(again, 409, "username_taken", "username")
    assert "taken" in error["message"] and "same time" not in error["message"]
    login = client.post("/function/user-login", json={"username": name.upper(), "password": "password-123"})
    assert login.status_code == 200 and login.json()["user"]["username"] == name  # kept as typed


def test_sku_codes_and_barcodes_differ_by_more_than_case(client, admin_token, category):
    code, barcode = unique("Sku-"), unique("Bar")
    made = _post(client, admin_token, "item-create", {"name": unique("item"), "category_id": category["id"],
                                                      "price": "5", "skus": [{"code": code, "barcode": barcode}]})
    assert made.status_code == 201, made.text
    body = {"name": unique("item"), "category_id": category["id"], "price": "5"}
    assert_error(_post(client, admin_token, "item-create", {**body, "skus": [{"code": code.lower()}]}),
                 409, "sku_code_taken", "skus[0].code")
    assert_error(_post(client, admin_token, "item-create", {**body, "barcode": barcode.upper()}),
                 409, "barcode_taken", "barcode")
    twice = {**body, "sku_specs": {"size": ["S", "M"]},
             "skus": [{"specs": {"size": "S"}, "code": code + "X"},
                      {"specs": {"size": "M"}, "code": code.lower() + "x"}]}
    assert_error(_post(client, admin_token, "item-create", twice), 409, "sku_code_taken", "skus[1].code")
    found = client.get("/function/sku-get", params={"code": code.upper()}, headers=auth(admin_token))
    assert found.status_code == 200 and found.json()["code"] == code


def test_warehouse_supplier_codes_and_sibling_category_names(client, admin_token, category):
    code = unique("Wh")
    assert _post(client, admin_token, "warehouse-create", {"code": code, "name": "w"}).status_code == 201
    assert_error(_post(client, admin_token, "warehouse-create", {"code": code.upper(), "name": "w"}),
                 409, "warehouse_code_taken", "code")
    code = unique("Sup")
    assert _post(client, admin_token, "supplier-create", {"code": code, "name": "s"}).status_code == 201
    assert_error(_post(client, admin_token, "supplier-create", {"code": code.lower(), "name": "s"}),
                 409, "supplier_code_taken", "code")
    name = unique("Shoes") + "Äß"  # case beyond ASCII too: SHOES...ÄSS and shoes...äß are the same name
    for parent in (None, category["id"]):
        assert _post(client, admin_token, "category-create", {"name": name, "parent_id": parent}).status_code == 201
        for same in (name.upper(), name.lower()):
            assert_error(_post(client, admin_token, "category-create", {"name": same, "parent_id": parent}),
                         409, "category_name_taken", "name")


def test_an_imported_sku_code_matches_whatever_its_case(client, admin_token, category):
    code = unique("Imp-")
    made = _post(client, admin_token, "item-create", {"name": unique("item"), "category_id": category["id"],
                                                      "price": "5", "skus": [{"code": code}]}).json()
    text = f"sku_code,sku_price\n{code.lower()},7\n{code.upper()},8\n"
    report = _post(client, admin_token, "item-import", {"csv": text}).json()
    assert report["updated_skus"] == 1 and [r["row"] for r in report["rejected"]] == [3], report
    sku = client.get(f"/function/sku-get/{made['skus'][0]['id']}", headers=auth(admin_token)).json()
    assert sku["code"] == code and sku["price"] == "7.00"
