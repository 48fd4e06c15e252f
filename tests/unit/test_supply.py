"""Purchasing and manufacturing rules without HTTP: the PO and work order workflows, PO numbers, the
component rounding, the cycle check and the explosion, run through units of work."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from erp_common import uow
from erp_common.context import Principal
from erp_common.errors import IllegalTransition, ValidationFailed
from erp_common.manufacturing import services as mfg
from erp_common.manufacturing.schemas import BomCreateIn, PlanIn
from erp_common.manufacturing.workflow import WORK_ORDER_WORKFLOW
from erp_common.purchasing.models import po_number
from erp_common.purchasing.workflow import PO_WORKFLOW

D = Decimal
PLANNER = uow.system_caller("test", Principal(1, "planner", frozenset({"planner"})))


@pytest.mark.parametrize("state, allowed", [
    ("draft", ["update", "approve", "cancel"]), ("approved", ["receive", "cancel"]),
    ("partially_received", ["receive", "close"]), ("received", []), ("closed", []), ("cancelled", [])])
def test_the_po_workflow(state, allowed):
    assert PO_WORKFLOW.allowed_actions(state) == allowed


def test_a_receipt_after_which_a_po_cannot_be_cancelled():
    with pytest.raises(IllegalTransition) as refused:
        PO_WORKFLOW.check("partially_received", "cancel")
    assert refused.value.details[0]["allowed_actions"] == ["receive", "close"]


@pytest.mark.parametrize("state, allowed", [
    ("draft", ["release", "cancel"]), ("released", ["complete", "cancel"]), ("in_progress", ["complete", "cancel"]),
    ("done", []), ("cancelled", [])])
def test_the_work_order_workflow(state, allowed):
    assert WORK_ORDER_WORKFLOW.allowed_actions(state) == allowed


def test_po_numbers_carry_the_date_and_the_id():
    assert po_number(42, dt.datetime(2026, 12, 2, 23, 59)) == "PO20261202000042"


@pytest.mark.parametrize("qty, per_unit, scrap, needed", [
    ("3", "2", "0", "6"), ("4", "1", "12.5", "4.5"), ("3", "0.3333", "0", "0.9999"),
    ("7", "0.1234", "3", "0.8898"),  # 0.889714 rounds up: never short by a rounding
    ("1", "0.0001", "50", "0.0002")])
def test_a_component_need_rounds_up_to_4_places(qty, per_unit, scrap, needed):
    assert mfg.need(D(qty), D(per_unit), D(scrap)) == D(needed)


def test_cycles_are_refused_at_any_depth(make_sku):
    a, b, c, d = (make_sku() for _ in range(4))

    def create(finished, parts):
        data = BomCreateIn(sku=finished[0], components=[{"sku": p[0], "qty_per_unit": 1} for p in parts])
        return uow.run(lambda ctx: mfg.create_bom(ctx, data), PLANNER)

    create(a, [b])
    create(b, [c, d])
    with pytest.raises(ValidationFailed) as refused:
        create(d, [a])
    assert refused.value.code == "bom_cycle"
    assert refused.value.details[0]["path"] == [d[1], a[1], b[1], d[1]]
    create(c, [d])  # a diamond (b -> c -> d and b -> d) is not a cycle


def test_a_shared_component_is_netted_once_at_its_lowest_level(make_sku, put_stock, main_warehouse):
    (top, _), (sub, _), (part, _) = make_sku(), make_sku(), make_sku()
    for finished, parts in ((top, [(sub, 1), (part, 1)]), (sub, [(part, 2)])):
        data = BomCreateIn(sku=finished, components=[{"sku": p, "qty_per_unit": q} for p, q in parts])
        uow.run(lambda ctx, data=data: mfg.create_bom(ctx, data), PLANNER)
    put_stock(part, 5)
    plan = uow.run(lambda ctx: mfg.plan_production(ctx, PlanIn(
        demand=[{"sku": top, "qty": 10, "date": "2027-01-01"}])), PLANNER)
    lines = {ln.sku_id: ln for ln in plan.lines}
    # part is needed directly (10) and through sub (20): 30 against 5 in stock, at level 2
    assert (lines[part].level, lines[part].required, lines[part].shortage) == (2, D(30), D(25))
    assert [ln.sku_id for ln in plan.shortages] == [part] and plan.without_supplier == plan.shortages
