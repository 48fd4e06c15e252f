"""Declared workflows: the transition table is the only way a document changes state."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from erp_common.errors import IllegalTransition
from erp_common.sales.api import ORDER_WORKFLOW
from erp_common.workflow import Transition, Workflow


def test_a_legal_move_changes_the_state():
    order = SimpleNamespace(status="pending_payment")
    assert ORDER_WORKFLOW.apply(order, "pay") == "paid" and order.status == "paid"
    assert ORDER_WORKFLOW.apply(order, "ship", "partially_shipped") == "partially_shipped"


def test_an_illegal_move_is_409_naming_the_state_and_the_allowed_actions():
    order = SimpleNamespace(status="shipped")
    with pytest.raises(IllegalTransition) as refused:
        ORDER_WORKFLOW.apply(order, "cancel", label="SO1")
    error = refused.value
    assert (error.status, error.code) == (409, "illegal_transition")
    assert error.details == [{"field": "status", "status": "shipped", "action": "cancel",
                              "allowed_actions": ["return"]}]
    assert "SO1" in error.message and "return" in error.message and order.status == "shipped"


def test_a_final_state_allows_nothing():
    with pytest.raises(IllegalTransition) as refused:
        ORDER_WORKFLOW.check("cancelled", "pay")
    assert refused.value.details[0]["allowed_actions"] == [] and "no action" in refused.value.message


def test_a_target_the_table_does_not_list_is_a_programming_error():
    with pytest.raises(ValueError):
        ORDER_WORKFLOW.apply(SimpleNamespace(status="paid"), "ship", "cancelled")


def test_a_table_naming_unknown_states_or_an_action_twice_is_refused():
    with pytest.raises(ValueError):
        Workflow("thing", ("a", "b"), [Transition("go", ("a",), ("c",))])
    with pytest.raises(ValueError):
        Workflow("thing", ("a", "b"), [Transition("go", ("a",), ("b",)), Transition("go", ("b",), ("a",))])


def test_the_order_table_reads_as_documented():
    table = {row["action"]: (row["from"], row["to"]) for row in ORDER_WORKFLOW.table()}
    assert table["pay"] == (["pending_payment"], ["paid"])
    assert table["cancel"] == (["pending_payment", "paid"], ["cancelled"])
    assert ORDER_WORKFLOW.allowed_actions("paid") == ["ship", "cancel"]
