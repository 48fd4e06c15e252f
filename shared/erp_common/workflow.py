"""Declared workflows: the only way a document (order, purchase order, work order, coupon) changes state.

A document type declares its states and a transition table (as Tryton declares
``_transitions``): each action, the states it may start from and the state(s) it leads to. Every
state change goes through ``Workflow.apply``; a move the table does not allow answers 409
``illegal_transition`` naming the current state and the actions allowed from it. An action with
several targets (a shipment leaves an order partially or fully shipped) is told which one the
outcome is, and that target must be one the table lists.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import IllegalTransition


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]


class Workflow:
    def __init__(self, document: str, states: tuple[str, ...], transitions: list[Transition], *,
                 field: str = "status") -> None:
        self.document, self.states, self.field = document, states, field
        self.transitions = {t.action: t for t in transitions}
        if len(self.transitions) != len(transitions):
            raise ValueError(f"{document}: an action is declared twice")
        for t in transitions:
            unknown = set(t.sources + t.targets) - set(states)
            if unknown or not t.targets:
                raise ValueError(f"{document}.{t.action}: unknown or missing states {sorted(unknown)}")

    def allowed_actions(self, state: str) -> list[str]:
        return [a for a, t in self.transitions.items() if state in t.sources]

    def check(self, state: str, action: str, *, label: str = "") -> Transition:
        """The transition ``action`` from ``state``; 409 ``illegal_transition`` if the table has none."""
        transition = self.transitions[action]  # KeyError: a programming error, not a client's
        if state not in transition.sources:
            allowed = self.allowed_actions(state)
            name = f"{self.document} {label}".strip()
            raise IllegalTransition(
                f"{name} is {state}: {action} is not allowed"
                + (f" (allowed: {', '.join(allowed)})" if allowed else " (no action is allowed)"),
                details=[{"field": self.field, "status": state, "action": action, "allowed_actions": allowed}],
            )
        return transition

    def apply(self, document: Any, action: str, to: str | None = None, *, label: str = "") -> str:
        """Move ``document`` by ``action`` (to ``to`` when the action has several targets); the new state."""
        transition = self.check(getattr(document, self.field), action, label=label)
        target = to if to is not None else transition.targets[0]
        if target not in transition.targets:
            raise ValueError(f"{self.document}.{action} leads to {transition.targets}, not {target!r}")
        setattr(document, self.field, target)
        return target

    def table(self) -> list[dict[str, Any]]:
        """The transition table, for documentation."""
        return [{"action": t.action, "from": list(t.sources), "to": list(t.targets)}
                for t in self.transitions.values()]
