"""Catalog functions through the gateway over HTTP: categories, items, SKUs, prices, cache, CSV."""
from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import auth, unique
from tests.functions.test_identity import assert_error

SEED_SPECS = {"color": ["红色", "蓝色"], "size": ["S", "M", "L"]}


def make_category(client, token, name=None, parent_id=None, **extra):
    body = {"name": name or unique("分类"), "parent_id": parent_id, **extra}
    response = client.post("/function/category-create", json=body, headers=auth(token))
    assert response.status_code == 201, response.text
    return response.json()


def make_item(client, token, category_id, **overrides):
    body = {"name": unique("商品"), "category_id": category_id, "price": "100.00", **overrides}
    response = client.post("/function/item-create", json=body, headers=auth(token))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def category(client, admin_token):
    return make_category(client, admin_token)


def get_item(client, token, item_id):
    response = client.get(f"/function/item-get/{item_id}", headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


def import_csv(client, token, rows, header=None, dry_run=False):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header or ["item_name", "category_id", "item_price", "specs", "sku_code", "sku_price",
                               "sku_barcode", "item_barcode"])
    writer.writerows(rows)
    return client.post("/function/item-import", json={"csv": out.getvalue(), "dry_run": dry_run},
                       headers=auth(token))


class TestCategories:
    def test_create_a_tree_and_list_it(self, client, admin_token):
        root = make_category(client, admin_token, unique("服装"))
        child = make_category(client, admin_token, "上衣", root["id"])
        grandchild = make_category(client, admin_token, "T恤", child["id"])
        assert root["path"] == f"/{root['id']}/" and root["level"] == 1 and root["parent_id"] is None
        assert grandchild["path"] == f"/{root['id']}/{child['id']}/{grandchild['id']}/" and grandchild["level"] == 3
        tree = client.get("/function/category-list", params={"root_id": root["id"]}, headers=auth(admin_token))
        assert tree.status_code == 200, tree.text
        body = tree.json()
        assert body["total"] == 3 and len(body["items"]) == 1
        node = body["items"][0]
        assert node["name"] == root["name"] and node["children"][0]["children"][0]["name"] == "T恤"
        whole = client.get("/function/category-list", headers=auth(admin_token)).json()
        assert any(n["id"] == root["id"] for n in whole["items"])

    def test_move_and_rename_rewrites_the_subtree(self, client, admin_token):
        a = make_category(client, admin_token)
        b = make_category(client, admin_token)
        child = make_category(client, admin_token, "child", a["id"])
        leaf = make_category(client, admin_token, "leaf", child["id"])
        moved = client.patch(f"/function/category-update/{child['id']}", json={"parent_id": b["id"], "name": "子"},
                             headers=auth(admin_token))
        assert moved.status_code == 200, moved.text
        assert moved.json()["path"] == f"/{b['id']}/{child['id']}/" and moved.json()["name"] == "子"
        tree = client.get("/function/category-list", params={"root_id": b["id"]}, headers=auth(admin_token)).json()
        assert tree["items"][0]["children"][0]["children"][0]["path"] == f"/{b['id']}/{child['id']}/{leaf['id']}/"
        to_top = client.patch(f"/function/category-update/{child['id']}", json={"parent_id": None},
                              headers=auth(admin_token)).json()
        assert to_top["parent_id"] is None and to_top["level"] == 1

    def test_a_category_cannot_move_under_itself(self, client, admin_token):
        a = make_category(client, admin_token)
        child = make_category(client, admin_token, "c", a["id"])
        response = client.patch(f"/function/category-update/{a['id']}", json={"parent_id": child["id"]},
                                headers=auth(admin_token))
        assert_error(response, 409, "category_cycle", "parent_id")

    def test_bad_category_input(self, client, admin_token):
        a = make_category(client, admin_token)
        assert_error(client.post("/function/category-create", json={"name": a["name"]}, headers=auth(admin_token)),
                     409, "category_name_taken", "name")
        assert_error(client.post("/function/category-create", json={"name": "x", "parent_id": 99999999},
                                 headers=auth(admin_token)), 404, "category_not_found", "parent_id")
        assert_error(client.post("/function/category-create", json={"name": ""}, headers=auth(admin_token)),
                     422, field="name")
        assert_error(client.patch("/function/category-update/99999999", json={"name": "x"},
                                  headers=auth(admin_token)), 404, field="category_id")

    def test_roles(self, client, make_user, category):
        _, cashier = make_user("cashier")
        _, merchandiser = make_user("merchandiser")
        assert_error(client.post("/function/category-create", json={"name": "x"}, headers=auth(cashier)), 403)
        assert client.get("/function/category-list", headers=auth(cashier)).status_code == 200
        assert client.post("/function/category-create", json={"name": unique()},
                           headers=auth(merchandiser)).status_code == 201


class TestItemCreate:
    def test_seed_body_creates_six_skus(self, client, admin_token, category):
        body = {"name": "示例商品", "category_id": category["id"], "price": 100.00, "sku_specs": SEED_SPECS}
        response = client.post("/item/create", json=body, headers=auth(admin_token))
        assert response.status_code == 201, response.text
        item = response.json()
        assert item["name"] == "示例商品" and item["price"] == "100.00" and item["status"] == "on_sale"
        assert item["category"] == {"id": category["id"], "name": category["name"], "path": category["path"]}
        assert item["sku_specs"] == SEED_SPECS
        skus = item["skus"]
        assert len(skus) == 6 and len({s["code"] for s in skus}) == 6
        assert [s["specs"] for s in skus][:2] == [{"color": "红色", "size": "S"}, {"color": "红色", "size": "M"}]
        assert skus[0]["code"] == f"SKU-{item['id']:06d}-01" and skus[5]["code"] == f"SKU-{item['id']:06d}-06"
        assert all(s["price"] == "100.00" and s["price_overridden"] is False for s in skus)
        assert get_item(client, admin_token, item["id"]) == item

    def test_the_seed_body_works_as_is_on_a_fresh_database(self, client, admin_token):
        body = {"name": "示例商品", "category_id": 1, "price": 100.00, "sku_specs": SEED_SPECS}
        response = client.post("/item/create", json=body, headers=auth(admin_token))
        assert response.status_code == 201, response.text
        assert response.json()["category"]["name"] == "未分类" and len(response.json()["skus"]) == 6

    def test_no_specs_gives_one_sku_with_the_item_barcode(self, client, admin_token, category):
        barcode = unique("69")
        item = make_item(client, admin_token, category["id"], barcode=barcode, unit="件", brand="牌子",
                         description="描述 ✓")
        assert len(item["skus"]) == 1 and item["skus"][0]["specs"] == {} and item["skus"][0]["barcode"] == barcode
        assert item["unit"] == "件" and item["description"] == "描述 ✓" and item["sku_specs"] == {}

    def test_per_sku_codes_prices_and_barcodes(self, client, admin_token, category):
        code, barcode = unique("TS-"), unique("690")
        item = make_item(client, admin_token, category["id"], sku_specs={"size": ["S", "M"]}, skus=[
            {"specs": {"size": "M"}, "code": code, "price": "120.5", "barcode": barcode}])
        s, m = item["skus"]
        assert s["code"] == f"SKU-{item['id']:06d}-01" and s["price"] == "100.00" and not s["price_overridden"]
        assert m["code"] == code and m["price"] == "120.50" and m["barcode"] == barcode and m["price_overridden"]

    def test_duplicate_sku_code_is_409_naming_the_field(self, client, admin_token, category):
        code = unique("DUP-")
        make_item(client, admin_token, category["id"], skus=[{"specs": {}, "code": code}])
        body = {"name": "x", "category_id": category["id"], "price": 1, "sku_specs": {"size": ["S", "M"]},
                "skus": [{"specs": {"size": "S"}, "code": unique("OK-")}, {"specs": {"size": "M"}, "code": code}]}
        assert_error(client.post("/function/item-create", json=body, headers=auth(admin_token)), 409,
                     "sku_code_taken", "skus[1].code")
        same = unique("SAME-")
        body["skus"] = [{"specs": {"size": "S"}, "code": same}, {"specs": {"size": "M"}, "code": same}]
        assert_error(client.post("/function/item-create", json=body, headers=auth(admin_token)), 409,
                     "sku_code_taken", "skus[1].code")

    def test_a_failed_create_leaves_nothing(self, client, admin_token, category):
        name = unique("half")
        code = unique("DUP-")
        make_item(client, admin_token, category["id"], skus=[{"specs": {}, "code": code}])
        body = {"name": name, "category_id": category["id"], "price": 1, "skus": [{"specs": {}, "code": code}]}
        assert_error(client.post("/function/item-create", json=body, headers=auth(admin_token)), 409)
        listed = client.get("/function/item-list", params={"q": name}, headers=auth(admin_token)).json()
        assert listed["total"] == 0

    @pytest.mark.parametrize("overrides, status, field", [
        ({"category_id": 99999999}, 404, "category_id"),
        ({"price": "abc"}, 422, "price"),
        ({"price": 0}, 422, "price"),
        ({"price": "-5"}, 422, "price"),
        ({"price": "1.00001"}, 422, "price"),
        ({"name": ""}, 422, "name"),
        ({"sku_specs": {"color": []}}, 422, "sku_specs.color"),
        ({"sku_specs": {"color": ["红色", "红色"]}}, 422, "sku_specs.color"),
        ({"sku_specs": {"color": ["红色", " 红色 "]}}, 422, "sku_specs.color"),
        ({"sku_specs": {"color": ["a|b"]}}, 422, "sku_specs"),
        ({"sku_specs": {"a": [str(i) for i in range(30)], "b": [str(i) for i in range(30)]}}, 422, "sku_specs"),
        ({"sku_specs": {"size": ["S"]}, "skus": [{"specs": {"size": "XL"}}]}, 422, "skus[0].specs"),
        ({"skus": [{"specs": {}, "code": "SKU-000001-01"}]}, 422, "skus[0].code"),
        ({"skus": [{"specs": {}, "price": -1}]}, 422, "skus[0].price"),
        ({"colour": "red"}, 422, "colour"),
    ])
    def test_bad_input(self, client, admin_token, category, overrides, status, field):
        body = {"name": unique(), "category_id": category["id"], "price": "10", **overrides}
        assert_error(client.post("/function/item-create", json=body, headers=auth(admin_token)), status,
                     field=field)

    def test_roles(self, client, make_user, category):
        for role in ("manager", "merchandiser"):
            _, token = make_user(role)
            make_item(client, token, category["id"])
        _, cashier = make_user("cashier")
        body = {"name": "x", "category_id": category["id"], "price": 1}
        assert_error(client.post("/function/item-create", json=body, headers=auth(cashier)), 403, "forbidden")
        assert_error(client.post("/function/item-create", json=body), 401)


class TestReads:
    def test_sku_get_by_id_code_and_barcode(self, client, admin_token, make_user, category):
        barcode = unique("690")
        item = make_item(client, admin_token, category["id"], barcode=barcode)
        sku = item["skus"][0]
        _, cashier = make_user("cashier")
        for url, params in ((f"/function/sku-get/{sku['id']}", {}), ("/function/sku-get", {"code": sku["code"]}),
                            ("/function/sku-get", {"barcode": barcode}), ("/function/sku-get", {"id": sku["id"]})):
            response = client.get(url, params=params, headers=auth(cashier))
            assert response.status_code == 200, response.text
            got = response.json()
            assert got["code"] == sku["code"] and got["item"]["name"] == item["name"]

    def test_sku_get_bad_input(self, client, admin_token):
        assert_error(client.get("/function/sku-get", headers=auth(admin_token)), 422, field="code")
        assert_error(client.get("/function/sku-get", params={"id": 1, "code": "x"}, headers=auth(admin_token)), 422)
        assert_error(client.get("/function/sku-get", params={"code": unique("none")}, headers=auth(admin_token)),
                     404, "sku_not_found", "code")
        assert_error(client.get("/function/sku-get/abc", headers=auth(admin_token)), 422, field="id")

    def test_item_get_unknown_is_404(self, client, admin_token):
        assert_error(client.get("/function/item-get/99999999", headers=auth(admin_token)), 404, "item_not_found",
                     "item_id")

    def test_list_filters_by_subtree_keyword_status_and_sorts(self, client, admin_token, make_user):
        root = make_category(client, admin_token)
        child = make_category(client, admin_token, "c", root["id"])
        other = make_category(client, admin_token)
        tag = unique("kw")
        a = make_item(client, admin_token, root["id"], name=f"{tag} A", price="30")
        b = make_item(client, admin_token, child["id"], name=f"{tag} B", price="10")
        c = make_item(client, admin_token, other["id"], name=f"{tag} C", price="20")
        _, cashier = make_user("cashier")

        def ids(**params):
            response = client.get("/function/item-list", params=params, headers=auth(cashier))
            assert response.status_code == 200, response.text
            return [i["id"] for i in response.json()["items"]]

        assert ids(category_id=root["id"]) == [a["id"], b["id"]]
        assert ids(q=tag, sort="price") == [b["id"], c["id"], a["id"]]
        assert ids(q=tag, sort="name", order="desc") == [c["id"], b["id"], a["id"]]
        assert ids(q=a["skus"][0]["code"]) == [a["id"]]
        page = client.get("/function/item-list", params={"q": tag, "page_size": 2, "page": 2},
                          headers=auth(cashier)).json()
        assert page["total"] == 3 and len(page["items"]) == 1 and page["items"][0]["sku_count"] == 1
        client.patch(f"/function/item-update/{c['id']}", json={"status": "off_sale"}, headers=auth(admin_token))
        assert ids(q=tag, status="off_sale") == [c["id"]]
        assert ids(q=f"{tag}%") == []  # a % is a literal character, not a wildcard

    def test_list_bad_input(self, client, admin_token):
        for params, field in (({"sort": "colour"}, "sort"), ({"status": "gone"}, "status"),
                              ({"page_size": 500}, "page_size")):
            assert_error(client.get("/function/item-list", params=params, headers=auth(admin_token)), 422,
                         field=field)
        assert_error(client.get("/function/item-list", params={"category_id": 99999999},
                                headers=auth(admin_token)), 404, field="category_id")


class TestUpdate:
    def test_item_price_moves_following_skus_and_keeps_history(self, client, admin_token, category):
        from erp_common.catalog.models import PriceChange
        from erp_common.db import transaction

        item = make_item(client, admin_token, category["id"], sku_specs={"size": ["S", "M"]},
                         skus=[{"specs": {"size": "M"}, "price": "150"}])
        response = client.patch(f"/function/item-update/{item['id']}", json={"price": "120"},
                                headers=auth(admin_token))
        assert response.status_code == 200, response.text
        s, m = response.json()["skus"]
        assert response.json()["price"] == "120.00" and s["price"] == "120.00" and m["price"] == "150.00"
        response = client.patch(f"/function/item-update/{item['id']}", headers=auth(admin_token), json={
            "skus": [{"code": s["code"], "price": "99.9"}, {"id": m["id"], "follow_item_price": True}]})
        s, m = response.json()["skus"]
        assert s["price"] == "99.90" and s["price_overridden"] and m["price"] == "120.00" and not m["price_overridden"]
        with transaction() as session:
            rows = session.query(PriceChange).filter_by(item_id=item["id"]).order_by(PriceChange.id).all()
            history = [(r.sku_id, f"{r.old_price.normalize():f}", f"{r.new_price.normalize():f}", r.changed_by)
                       for r in rows]
        assert history == [(None, "100", "120", "admin"), (s["id"], "100", "120", "admin"),
                           (s["id"], "120", "99.9", "admin"), (m["id"], "150", "120", "admin")]

    def test_a_new_item_barcode_moves_to_its_only_sku(self, client, admin_token, category):
        old, new = unique("690"), unique("692")
        item = make_item(client, admin_token, category["id"], barcode=old)
        assert item["skus"][0]["barcode"] == old
        client.get("/function/sku-get", params={"barcode": old}, headers=auth(admin_token))  # cached
        response = client.patch(f"/function/item-update/{item['id']}", json={"barcode": new},
                                headers=auth(admin_token))
        assert response.status_code == 200, response.text
        assert response.json()["barcode"] == new and response.json()["skus"][0]["barcode"] == new
        scanned = client.get("/function/sku-get", params={"barcode": new}, headers=auth(admin_token))
        assert scanned.status_code == 200 and scanned.json()["id"] == item["skus"][0]["id"]
        assert_error(client.get("/function/sku-get", params={"barcode": old}, headers=auth(admin_token)), 404)
        # Taken by another SKU: 409 naming the field, and nothing changes.
        other = make_item(client, admin_token, category["id"], barcode=unique("693"))
        taken = {"name": "改", "barcode": other["barcode"]}
        assert_error(client.patch(f"/function/item-update/{item['id']}", json=taken, headers=auth(admin_token)),
                     409, "barcode_taken", "barcode")
        assert get_item(client, admin_token, item["id"])["barcode"] == new
        # An item with specs, or a SKU with a barcode of its own, keeps its SKUs' barcodes.
        own = unique("694")
        kept = make_item(client, admin_token, category["id"], barcode=unique("695"),
                         skus=[{"specs": {}, "code": unique("OWN-"), "barcode": own}])
        client.patch(f"/function/item-update/{kept['id']}", json={"barcode": unique("696")}, headers=auth(admin_token))
        assert get_item(client, admin_token, kept["id"])["skus"][0]["barcode"] == own

    def test_update_invalidates_the_cached_reads(self, client, admin_token, category):
        barcode = unique("690")
        item = make_item(client, admin_token, category["id"], barcode=barcode)
        sku = item["skus"][0]
        for url in (f"/function/item-get/{item['id']}", f"/function/sku-get/{sku['id']}",
                    f"/function/sku-get?code={sku['code']}", f"/function/sku-get?barcode={barcode}"):
            client.get(url, headers=auth(admin_token))  # warm the cache
        new_barcode = unique("691")
        client.patch(f"/function/item-update/{item['id']}", headers=auth(admin_token), json={
            "name": "新名字", "price": "55", "status": "off_sale", "skus": [{"id": sku["id"], "barcode": new_barcode}]})
        got = get_item(client, admin_token, item["id"])
        assert got["name"] == "新名字" and got["price"] == "55.00" and got["skus"][0]["status"] == "off_sale"
        by_id = client.get(f"/function/sku-get/{sku['id']}", headers=auth(admin_token)).json()
        assert by_id["price"] == "55.00" and by_id["item"]["name"] == "新名字" and by_id["barcode"] == new_barcode
        assert client.get("/function/sku-get", params={"code": sku["code"]},
                          headers=auth(admin_token)).json()["price"] == "55.00"
        assert_error(client.get("/function/sku-get", params={"barcode": barcode}, headers=auth(admin_token)), 404)
        renamed = unique("改名")
        client.patch(f"/function/category-update/{category['id']}", json={"name": renamed},
                     headers=auth(admin_token))
        assert get_item(client, admin_token, item["id"])["category"]["name"] == renamed

    def test_events_are_emitted(self, client, admin_token, category):
        from sqlalchemy import select

        from erp_common.db import transaction
        from erp_common.events import OutboxEvent

        item = make_item(client, admin_token, category["id"])
        client.patch(f"/function/item-update/{item['id']}", json={"price": "101"}, headers=auth(admin_token))
        with transaction() as session:
            rows = session.scalars(select(OutboxEvent).where(OutboxEvent.type.like("item.%"))).all()
            mine = [r.type for r in rows if json.loads(r.data).get("item_id") == item["id"]]
        assert sorted(mine) == ["item.created", "item.price_changed", "item.updated"]

    @pytest.mark.parametrize("body, status, field", [
        ({"price": 0}, 422, "price"),
        ({"price": "-1"}, 422, "price"),
        ({"category_id": 99999999}, 404, "category_id"),
        ({"status": "sold"}, 422, "status"),
        ({"skus": [{"code": "nope-nope"}]}, 404, "skus[0].code"),
        ({"skus": [{"price": 5}]}, 422, "skus[0]"),
        ({"skus": [{"id": 1, "code": "x"}]}, 422, "skus[0]"),
    ])
    def test_bad_input(self, client, admin_token, category, body, status, field):
        item = make_item(client, admin_token, category["id"])
        assert_error(client.patch(f"/function/item-update/{item['id']}", json=body, headers=auth(admin_token)),
                     status, field=field)

    def test_taken_barcode_and_wrong_role(self, client, admin_token, make_user, category):
        taken = unique("690")
        make_item(client, admin_token, category["id"], barcode=taken)
        item = make_item(client, admin_token, category["id"])
        body = {"skus": [{"id": item["skus"][0]["id"], "barcode": taken}]}
        assert_error(client.patch(f"/function/item-update/{item['id']}", json=body, headers=auth(admin_token)),
                     409, "barcode_taken", "skus[0].barcode")
        _, warehouse = make_user("warehouse")
        assert_error(client.patch(f"/function/item-update/{item['id']}", json={"price": 1},
                                  headers=auth(warehouse)), 403)
        assert_error(client.patch("/function/item-update/99999999", json={"price": 1}, headers=auth(admin_token)),
                     404, field="item_id")


class TestPriceHistory:
    def test_newest_first_with_skus_who_and_money_as_sent(self, client, admin_token, make_user, category):
        item = make_item(client, admin_token, category["id"], sku_specs={"size": ["S", "M"]},
                         skus=[{"specs": {"size": "M"}, "price": "150"}])
        s, m = item["skus"]
        client.patch(f"/function/item-update/{item['id']}", json={"price": "120"}, headers=auth(admin_token))
        client.patch(f"/function/item-update/{item['id']}", json={"skus": [{"id": m["id"], "price": "99.9"}]},
                     headers=auth(admin_token))
        _, cashier = make_user("cashier")  # any signed-in user may read it
        response = client.get(f"/function/item-price-history/{item['id']}", headers=auth(cashier))
        assert response.status_code == 200, response.text
        page = response.json()
        assert (page["total"], page["page"], page["page_size"]) == (3, 1, 20)
        rows = [(r["sku_id"], r["sku_code"], r["old_price"], r["new_price"], r["changed_by"])
                for r in page["items"]]
        assert rows == [(m["id"], m["code"], "150.00", "99.90", "admin"),
                        (s["id"], s["code"], "100.00", "120.00", "admin"),
                        (None, None, "100.00", "120.00", "admin")]
        assert all(r["item_id"] == item["id"] and r["changed_at"].endswith("Z") for r in page["items"])
        second = client.get(f"/function/item-price-history/{item['id']}", params={"page": 2, "page_size": 2},
                            headers=auth(cashier)).json()
        assert second["total"] == 3 and [r["sku_id"] for r in second["items"]] == [None]

    def test_an_item_never_repriced_has_an_empty_history(self, client, admin_token, category):
        item = make_item(client, admin_token, category["id"])
        page = client.get(f"/function/item-price-history/{item['id']}", headers=auth(admin_token)).json()
        assert page == {"items": [], "total": 0, "page": 1, "page_size": 20}

    @pytest.mark.parametrize("path, params, status, field", [
        ("99999999", {}, 404, "item_id"),
        ("0", {}, 422, "item_id"),
        ("abc", {}, 422, "item_id"),
        ("1", {"page": 0}, 422, "page"),
        ("1", {"page_size": 201}, 422, "page_size"),
        ("1", {"sort": "price"}, 422, "sort"),
    ])
    def test_bad_input(self, client, admin_token, category, path, params, status, field):
        assert_error(client.get(f"/function/item-price-history/{path}", params=params, headers=auth(admin_token)),
                     status, field=field)

    def test_signed_in_only(self, client, admin_token, category):
        item = make_item(client, admin_token, category["id"])
        assert_error(client.get(f"/function/item-price-history/{item['id']}"), 401)
        assert client.post(f"/function/item-price-history/{item['id']}", json={},
                           headers=auth(admin_token)).status_code in (404, 405)


class TestCsv:
    def test_import_creates_updates_and_reports_rejected_rows(self, client, admin_token, category):
        cat = category["id"]
        tag = unique("imp")
        existing = make_item(client, admin_token, cat, sku_specs={"size": ["S", "M"]})
        code_s = existing["skus"][0]["code"]
        rows = [
            [f"{tag} 衬衫", cat, "59.9", "color=白|黑;size=S|M", "", "", "", ""],   # 2: item with 4 SKUs
            [f"{tag} 帽子", cat, "20", "color=红", f"{tag}-R", "", "", ""],          # 3: new item, first SKU
            [f"{tag} 帽子", cat, "20", "color=蓝", f"{tag}-B", "25", "", ""],        # 4: its second SKU
            ["", "", "", "", code_s, "88", "", ""],                                   # 5: update a SKU price
            [f"{tag} bad", 99999999, "1", "", "", "", "", ""],                        # 6: unknown category
            [f"{tag} bad", cat, "-1", "", "", "", "", ""],                            # 7: negative price
            [f"{tag} bad", cat, "0", "", "", "", "", ""],                             # 8: zero price
            [f"{tag} bad", cat, "", "", "", "", "", ""],                              # 9: no price
            [f"{tag} 帽子", cat, "20", "color=绿", f"{tag}-R", "", "", ""],          # 10: code twice
            [f"{tag} bad", cat, "5", "color=红|红", "", "", "", ""],                 # 11: duplicate spec value
            [f"{tag} bad", cat, "5", "", "SKU-000001-99", "", "", ""],               # 12: a reserved code
        ]
        response = import_csv(client, admin_token, rows)
        assert response.status_code == 200, response.text
        report = response.json()
        rejected = {r["row"]: r for r in report["rejected"]}
        assert set(rejected) == {6, 7, 8, 9, 10, 11, 12}, report
        assert rejected[6]["field"] == "category_id" and rejected[7]["field"] == "item_price"
        assert rejected[9]["field"] == "item_price" and rejected[10]["field"] == "sku_code"
        assert rejected[11]["field"] == "specs" and rejected[12]["field"] == "sku_code"
        assert report["rows"] == 11 and report["created_items"] == 2
        assert report["created_skus"] == 6 and report["updated_skus"] == 1
        listed = client.get("/function/item-list", params={"q": tag, "sort": "id"}, headers=auth(admin_token))
        hats = [i for i in listed.json()["items"] if "帽子" in i["name"]]
        assert len(hats) == 1 and hats[0]["sku_count"] == 2
        hat = get_item(client, admin_token, hats[0]["id"])
        assert [(s["code"], s["price"]) for s in hat["skus"]] == [(f"{tag}-R", "20.00"), (f"{tag}-B", "25.00")]
        assert hat["sku_specs"] == {"color": ["红", "蓝"]}
        assert get_item(client, admin_token, existing["id"])["skus"][0]["price"] == "88.00"

    def test_dry_run_changes_nothing(self, client, admin_token, category):
        tag = unique("dry")
        response = import_csv(client, admin_token, [[tag, category["id"], "5", "", "", "", "", ""]], dry_run=True)
        assert response.status_code == 200 and response.json()["created_items"] == 1
        assert client.get("/function/item-list", params={"q": tag}, headers=auth(admin_token)).json()["total"] == 0

    def test_bad_files_and_roles(self, client, admin_token, make_user):
        bad_header = client.post("/function/item-import", json={"csv": "name,colour\nx,y\n"},
                                 headers=auth(admin_token))
        assert_error(bad_header, 422, field="csv")
        assert_error(client.post("/function/item-import", json={"csv": ""}, headers=auth(admin_token)), 422,
                     field="csv")
        assert_error(client.post("/function/item-import", json={"file": "x"}, headers=auth(admin_token)), 422,
                     field="file")
        _, cashier = make_user("cashier")
        assert_error(client.post("/function/item-import", json={"csv": "item_name\nx\n"}, headers=auth(cashier)),
                     403)

    def test_rows_with_wrong_cell_counts_and_taken_barcodes(self, client, admin_token, category):
        barcode = unique("690")
        make_item(client, admin_token, category["id"], barcode=barcode)
        text = (f"item_name,category_id,item_price,item_barcode\n{unique()},{category['id']},5,{barcode}\n"
                f"{unique()},{category['id']}\n")
        report = client.post("/function/item-import", json={"csv": text}, headers=auth(admin_token)).json()
        assert [(r["row"], r["field"]) for r in report["rejected"]] == [(2, "item_barcode"), (3, None)]

    def test_a_retried_import_creates_nothing_twice(self, client, admin_token, category):
        name = unique("retry")
        headers = {**auth(admin_token), "Idempotency-Key": unique("import")}
        body = {"csv": f"item_name,category_id,item_price\n{name},{category['id']},5\n"}
        first = client.post("/function/item-import", json=body, headers=headers)
        second = client.post("/function/item-import", json=body, headers=headers)
        assert first.json()["created_items"] == 1 and second.json() == first.json()
        assert second.headers["Idempotent-Replayed"] == "true"
        found = client.get("/function/item-list", params={"q": name}, headers=auth(admin_token)).json()
        assert found["total"] == 1

    def test_a_large_import_runs_in_the_background_with_its_progress_and_report(self, client, admin_token,
                                                                              category):
        """Past ERP_IMPORT_SYNC_ROWS (2,000) rows: 202 at once, the rows applied batch by batch by
        item-import-run, the progress and then the same report as a synchronous import."""
        import time

        tag = unique("bulk")
        rows = [[f"{tag}-{i}", category["id"], "3.00", "", f"{tag}-C{i}", "", "", ""] for i in range(2_300)]
        rows.append([f"{tag}-bad", category["id"], "not a price", "", "", "", "", ""])
        headers = {**auth(admin_token), "Idempotency-Key": unique("bulk")}
        out = io.StringIO()
        csv.writer(out).writerows([["item_name", "category_id", "item_price", "specs", "sku_code", "sku_price",
                                    "sku_barcode", "item_barcode"], *rows])
        body = {"csv": out.getvalue()}
        accepted = client.post("/function/item-import", json=body, headers=headers)
        assert accepted.status_code == 202, accepted.text
        queued = accepted.json()
        assert queued["status"] == "queued" and queued["rows"] == 2_301
        assert queued["progress_url"] == f"/item/import-get/{queued['import_id']}"  # a seed path: both packings
        again = client.post("/function/item-import", json=body, headers=headers)  # a retry: the same import
        assert again.status_code == 202 and again.json()["import_id"] == queued["import_id"]
        deadline = time.monotonic() + 60
        while True:
            progress = client.get(queued["progress_url"], headers=auth(admin_token)).json()
            if progress["status"] in ("done", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert progress["status"] == "done" and progress["rows_done"] == 2_301, progress
        report = progress["report"]
        assert (report["created_items"], report["created_skus"]) == (2_300, 2_300)
        assert [(r["row"], r["field"]) for r in report["rejected"]] == [(2_302, "item_price")]
        found = client.get("/function/item-list", params={"q": tag, "page_size": 1}, headers=auth(admin_token))
        assert found.json()["total"] == 2_300
        # the export of more than one batch (1,000) of rows streams to the end (MySQL cut it short once)
        exported = client.get("/function/item-export", params={"category_id": category["id"]},
                              headers=auth(admin_token)).text
        assert sum(1 for line in exported.splitlines() if f"{tag}-C" in line) == 2_300
        assert_error(client.get("/function/item-import-get/999999", headers=auth(admin_token)), 404,
                     field="import_id")

    def test_a_background_dry_run_changes_nothing(self, client, admin_token, category):
        import time

        tag = unique("dry")
        body = {"csv": f"item_name,category_id,item_price\n{tag},{category['id']},5\n", "dry_run": True,
                "background": True}
        queued = client.post("/function/item-import", json=body, headers=auth(admin_token)).json()
        deadline = time.monotonic() + 30
        while (progress := client.get(queued["progress_url"], headers=auth(admin_token)).json())["status"] not in \
                ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert progress["status"] == "done" and progress["report"]["created_items"] == 1
        assert client.get("/function/item-list", params={"q": tag}, headers=auth(admin_token)).json()["total"] == 0

    def test_export_round_trips(self, client, admin_token, make_user):
        cat = make_category(client, admin_token)
        item = make_item(client, admin_token, cat["id"], name="导出, \"引号\"", sku_specs={"size": ["S", "M"]},
                         skus=[{"specs": {"size": "M"}, "price": "9.5"}])
        _, cashier = make_user("cashier")
        response = client.get("/function/item-export", params={"category_id": cat["id"]}, headers=auth(cashier))
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [(r["item_name"], r["specs"], r["sku_code"], r["sku_price"]) for r in rows] == [
            (item["name"], "size=S", item["skus"][0]["code"], ""), (item["name"], "size=M", item["skus"][1]["code"],
                                                                   "9.50")]
        again = client.post("/function/item-import", json={"csv": response.text}, headers=auth(admin_token)).json()
        assert again["rejected"] == [] and again["updated_items"] == 0 and again["created_items"] == 0
        assert get_item(client, admin_token, item["id"]) == item


class TestService:
    def test_health_docs_and_ce_pack_paths(self, client, admin_token, category):
        assert client.get("/item/health").json()["status"] == "ok"
        docs = client.get("/item/openapi.json").json()
        assert "/function/item-create" in docs["paths"] and "/function/sku-get/{id}" in docs["paths"]
        export = docs["paths"]["/function/item-export"]["get"]["responses"]["200"]["content"]
        assert list(export) == ["text/csv"]
        assert "sku_specs" in docs["paths"]["/function/item-create"]["post"]["description"]
        assert client.get("/item/docs").status_code == 200

    def test_the_ce_pack_serves_every_catalog_operation(self, database, admin_token):
        import httpx

        from tests.conftest import ROOT, RunningGateway

        running = RunningGateway(ROOT / "stack.ce.yml")
        try:
            with httpx.Client(base_url=running.url, timeout=30, headers=auth(admin_token)) as http:
                category = http.post("/function/item/category-create", json={"name": unique("ce")})
                assert category.status_code == 201, category.text
                body = {"name": "示例商品", "category_id": category.json()["id"], "price": 100.00,
                        "sku_specs": SEED_SPECS}
                item = http.post("/item/create", json=body)
                assert item.status_code == 201 and len(item.json()["skus"]) == 6
                item_id, code = item.json()["id"], item.json()["skus"][0]["code"]
                assert http.get(f"/function/item/get/{item_id}").json()["id"] == item_id
                assert http.get("/function/item/sku-get", params={"code": code}).json()["item"]["id"] == item_id
                assert http.get("/function/item/list", params={"q": code}).json()["total"] == 1
                assert http.get("/function/item/category-list").status_code == 200
                export = http.get("/function/item/export", params={"category_id": category.json()["id"]})
                assert export.headers["content-type"].startswith("text/csv") and code in export.text
                assert http.get("/item/health").json()["status"] == "ok"
        finally:
            running.close()


class TestCsvFormulas:
    """Issue 9: cells a spreadsheet would run are exported quoted and imported back unchanged."""

    def test_formula_cells_are_quoted_on_export_and_round_trip(self, client, admin_token):
        cat = make_category(client, admin_token, name="=" + unique("cat"))
        item = make_item(client, admin_token, cat["id"], name="=HYPERLINK(\"http://x\")" + unique(),
                         description="+cmd|' /C calc'!A0\nsecond line", brand="@SUM(1+1)",
                         barcode="-" + unique("b"), sku_specs=None)
        quoted = make_item(client, admin_token, cat["id"], name="'=already quoted " + unique(), brand="'plain")
        response = client.get("/function/item-export", params={"category_id": cat["id"]}, headers=auth(admin_token))
        assert response.status_code == 200, response.text
        rows = list(csv.DictReader(io.StringIO(response.text)))
        first, second = rows
        assert first["item_name"] == "'" + item["name"] and first["brand"] == "'@SUM(1+1)"
        assert first["description"] == "'" + item["description"] and first["item_barcode"] == "'" + item["barcode"]
        assert first["sku_code"] == item["skus"][0]["code"] and first["item_price"] == "100.00"
        assert second["item_name"] == "'" + quoted["name"]  # '=x is written ''=x
        assert second["brand"] == "'plain"  # a quote before no formula is the value itself
        for row in rows:  # nothing a spreadsheet would evaluate
            assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())
        again = client.post("/function/item-import", json={"csv": response.text}, headers=auth(admin_token)).json()
        assert again["rejected"] == [] and again["updated_items"] == 0 and again["created_items"] == 0
        assert get_item(client, admin_token, item["id"]) == item
        assert get_item(client, admin_token, quoted["id"]) == quoted

    def test_an_import_reads_a_quoted_cell_as_its_value(self, client, admin_token, category):
        name = "=" + unique("imp")
        text = f"item_name,category_id,item_price,brand\n'{name},{category['id']},5,'-brand\n"
        report = client.post("/function/item-import", json={"csv": text}, headers=auth(admin_token)).json()
        assert report["created_items"] == 1, report
        found = client.get("/function/item-list", params={"q": name}, headers=auth(admin_token)).json()
        assert [(i["name"], i["brand"]) for i in found["items"]] == [(name, "-brand")]
