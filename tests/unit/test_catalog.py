"""Catalog logic without HTTP: spec combinations, SKU planning, CSV reading, raw (CSV) responses."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from erp_common.catalog import csv_io, services
from erp_common.catalog import specs as spec_rules
from erp_common.catalog.schemas import ItemCreateIn
from erp_common.errors import Conflict, ValidationFailed
from erp_common.http import dispatch
from erp_common.operations import FileResult, Operation


class TestSpecs:
    def test_one_sku_per_combination_first_spec_slowest(self):
        combos = spec_rules.combinations({"color": ["红色", "蓝色"], "size": ["S", "M", "L"]})
        assert len(combos) == 6
        assert combos[:4] == [{"color": "红色", "size": "S"}, {"color": "红色", "size": "M"},
                              {"color": "红色", "size": "L"}, {"color": "蓝色", "size": "S"}]

    def test_no_specs_is_one_combination(self):
        assert spec_rules.combinations({}) == [{}]

    def test_spec_lists_are_rebuilt_from_skus(self):
        specs = {"color": ["蓝", "红"], "size": ["M", "S"]}
        assert spec_rules.specs_from_skus(["color", "size"], spec_rules.combinations(specs)) == specs

    @pytest.mark.parametrize("specs, field, words", [
        ({"color": []}, "sku_specs.color", "at least one"),
        ({"color": ["红", "红"]}, "sku_specs.color", "duplicate"),
        ({"color": ["红", " "]}, "sku_specs.color", "empty"),
        ({"color": ["a|b"]}, "sku_specs.color", "cannot contain"),
        ({"": ["a"]}, "sku_specs", "empty"),
        ({"a": list("0123456789"), "b": list("0123456789"), "c": list("012345")}, "sku_specs", "600 combinations"),
        ({str(i): ["x"] for i in range(6)}, "sku_specs", "at most 5"),
    ])
    def test_bad_spec_lists_name_the_spec(self, specs, field, words):
        with pytest.raises(spec_rules.SpecError) as caught:
            spec_rules.check_specs(specs)
        assert caught.value.field == field and words in caught.value.message

    def test_500_combinations_are_allowed(self):
        specs = spec_rules.check_specs({"a": [str(i) for i in range(20)], "b": [str(i) for i in range(25)]})
        assert len(spec_rules.combinations(specs)) == 500

    def test_csv_spec_text_round_trips(self):
        specs = spec_rules.parse_text(" color=红色|蓝色 ; size=S|M ")
        assert specs == {"color": ["红色", "蓝色"], "size": ["S", "M"]}
        assert spec_rules.format_text(specs) == "color=红色|蓝色;size=S|M"
        assert spec_rules.format_text({"color": "红色"}) == "color=红色"
        with pytest.raises(spec_rules.SpecError):
            spec_rules.parse_text("color")
        with pytest.raises(spec_rules.SpecError):
            spec_rules.parse_text("color=a;color=b")


class TestPlanSkus:
    def item(self, **extra) -> ItemCreateIn:
        return ItemCreateIn(name="x", category_id=1, price="10", **extra)

    def test_overrides_are_keyed_by_specs(self):
        drafts = services.plan_skus(self.item(sku_specs={"size": ["S", "M"]},
                                              skus=[{"specs": {"size": "M"}, "code": "M1", "price": "12"}]))
        assert [(d.key, d.code, d.price) for d in drafts] == [("S", None, None), ("M", "M1", Decimal("12"))]

    def test_the_item_barcode_goes_to_its_only_sku(self):
        assert services.plan_skus(self.item(barcode="690"))[0].barcode == "690"
        assert services.plan_skus(self.item(barcode="690", sku_specs={"s": ["a"]}))[0].barcode is None

    def test_unknown_or_repeated_combinations_and_codes(self):
        with pytest.raises(ValidationFailed) as caught:
            services.plan_skus(self.item(sku_specs={"size": ["S"]}, skus=[{"specs": {"size": "XL"}}]))
        assert caught.value.details[0]["field"] == "skus[0].specs"
        with pytest.raises(ValidationFailed):
            services.plan_skus(self.item(sku_specs={"size": ["S"]}, skus=[{"specs": {"size": "S"}}] * 2))
        with pytest.raises(Conflict) as conflict:
            services.plan_skus(self.item(sku_specs={"size": ["S", "M"]}, skus=[
                {"specs": {"size": "S"}, "code": "A"}, {"specs": {"size": "M"}, "code": "A"}]))
        assert conflict.value.details[0]["field"] == "skus[1].code"


class TestCsvReading:
    def test_rows_are_parsed_and_bad_ones_reported_with_line_numbers(self):
        text = ("\ufeffItem_Name,category_id,item_price,specs,sku_code\n"
                "衬衫,1,59.9,color=白|黑,\n"
                "\n"
                "bad,1,-1,,\n"
                "hat,x,2,,\n"
                "hat,1,2,color=红|蓝,H1\n"
                "short,1\n"
                "\"multi\nline\",1,3,,\n")
        rows, rejected, count = csv_io.read_csv(text)
        assert count == 6
        assert [(r.line, r.item_name, r.item_price, r.specs) for r in rows] == [
            (2, "衬衫", Decimal("59.9"), {"color": ["白", "黑"]}), (9, "multi\nline", Decimal("3"), {})]
        assert [(r.row, r.field) for r in rejected] == [(4, "item_price"), (5, "category_id"), (6, "specs"),
                                                       (7, None)]

    def test_new_items_need_name_category_and_price(self):
        with pytest.raises(csv_io.RowError) as caught:
            csv_io.parse_row(2, {"item_name": "x", "category_id": "1", "item_price": ""})
        assert caught.value.column == "item_price"
        with pytest.raises(csv_io.RowError) as caught:
            csv_io.parse_row(2, {"item_name": "x", "category_id": "1", "item_price": "1", "sku_price": "2"})
        assert caught.value.column == "sku_code"
        assert csv_io.parse_row(2, {"item_id": "5", "item_price": "3"}).item_price == Decimal("3")

    @pytest.mark.parametrize("text", ["", "colour,name\nx,y\n", "item_name,item_name\n", "unit\npcs\n"])
    def test_unusable_headers_refuse_the_file(self, text):
        with pytest.raises(ValidationFailed) as caught:
            csv_io.read_csv(text)
        assert caught.value.details[0]["field"] == "csv"

    def test_written_csv_reads_back(self):
        text = csv_io.write_csv([["1", "导出, \"引号\"", "2", "9.90", "pcs", "", "", "", "on_sale", "size=S",
                                  "C1", "", ""]])
        rows, rejected, _ = csv_io.read_csv(text)
        assert rejected == [] and rows[0].item_name == "导出, \"引号\"" and rows[0].sku_code == "C1"


class _Event:
    method, path, body, headers, query = "GET", "/", b"", {}, {}


def test_a_raw_response_goes_out_with_its_content_type():
    op = Operation(name="thing-export", service="test", domain="test", handler=lambda ctx: FileResult("a,b\n1,2\n",
                   "text/csv; charset=utf-8", {"Content-Disposition": "attachment"}), summary="", input=None,
                   output=None, roles="public", methods=("GET",), status=200, path=None, idempotent=False,
                   topic=None, schedule=None)
    result = dispatch(op, _Event())
    assert result["statusCode"] == 200 and result["body"] == "a,b\n1,2\n"
    assert result["headers"]["Content-Type"] == "text/csv; charset=utf-8"
    assert result["headers"]["Content-Disposition"] == "attachment" and result["headers"]["X-Request-Id"]


def test_the_cli_imports_a_file_batch_by_batch(tmp_path, capsys, monkeypatch):
    from erp_common.catalog.models import Category, Sku
    from erp_common.db import transaction, utcnow
    from erp_local import cli

    monkeypatch.setattr(csv_io, "BATCH", 3)
    with transaction() as session:
        category = Category(name=f"cli-{uuid.uuid4().hex[:8]}", path="/", level=1, sort_order=0,
                            created_at=utcnow(), updated_at=utcnow())
        session.add(category)
        session.flush()
        category.path = f"/{category.id}/"
        category_id = category.id
    tag = uuid.uuid4().hex[:8]
    lines = ["item_name,category_id,item_price,specs,sku_code"]
    lines += [f"cli {tag},{category_id},5,size=S{i},{tag}-{i}" for i in range(7)]  # one item, 7 SKUs, 3 batches
    lines += [f"bad,{category_id},0,,"]
    path = tmp_path / "items.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli.main(["import", "items", str(path), "--dry-run"]) == 1
    with transaction() as session:
        assert session.query(Sku).filter(Sku.code.like(f"{tag}-%")).count() == 0
    assert cli.main(["import", "items", str(path)]) == 1
    out = capsys.readouterr().out
    assert "1 items and 7 SKUs created" in out and "line 9: item_price" in out
    with transaction() as session:
        skus = session.query(Sku).filter(Sku.code.like(f"{tag}-%")).all()
        assert len(skus) == 7 and len({s.item_id for s in skus}) == 1


def test_a_batch_that_hits_a_conflict_is_redone_row_by_row(monkeypatch):
    """If a conflict escapes the checks (someone else took a barcode meanwhile), only its row is rejected."""
    from erp_common import uow
    from erp_common.catalog.models import Category, Item, Sku
    from erp_common.catalog.schemas import ItemImportIn
    from erp_common.context import Principal
    from erp_common.db import transaction, utcnow

    tag = uuid.uuid4().hex[:8]
    with transaction() as session:
        now = utcnow()
        category = Category(name=f"fb-{tag}", path="/", level=1, sort_order=0, created_at=now, updated_at=now)
        session.add(category)
        session.flush()
        category.path = f"/{category.id}/"
        item = Item(name="owner", category_id=category.id, price=Decimal(1), spec_names="[]", created_at=now,
                    updated_at=now)
        session.add(item)
        session.flush()
        session.add(Sku(item_id=item.id, code=f"{tag}-taken", barcode=f"{tag}0", specs="{}", spec_key="",
                        price=Decimal(1), created_at=now, updated_at=now))
        category_id = category.id
    monkeypatch.setattr(services, "taken", lambda session, codes, barcodes: (set(), set()))  # the race
    text = "item_name,category_id,item_price,sku_code,sku_barcode\n" + "".join(
        f"n{i},{category_id},2,{tag}-{i},{tag}{i}\n" for i in range(5))
    caller = uow.system_caller("item-import", Principal(0, "t", frozenset({"admin"})))
    with uow.unit_of_work(caller) as ctx:
        report = csv_io.import_items(ctx, ItemImportIn(csv=text))
        events = len(ctx.events)
    assert [(r.row, r.field) for r in report.rejected] == [(2, None)]
    assert report.created_items == 4 and report.created_skus == 4 and events == 4
    with transaction() as session:
        assert session.query(Sku).filter(Sku.code.like(f"{tag}-_")).count() == 4
