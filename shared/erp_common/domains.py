"""The business domains: what each is, what it depends on, and loading them in that order.

A domain is a package ``erp_common.<name>`` whose ``__init__`` declares ``DOMAIN = Domain(...)``
(as a Tryton module declares ``depends`` in its tryton.cfg): that one declaration is its
registration. Its other modules are ``models`` (tables), ``operations`` (the declared functions)
and a public face, ``api``, which is the only module other domains may import (a test enforces
it). Loading a domain loads the domains it depends on first, so a function imports just its own
domain, those below it, and the platform core; migrations and the schema check load them all.
"""
from __future__ import annotations

import importlib
import pkgutil
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class Domain:
    name: str
    summary: str
    depends: tuple[str, ...] = ()


_PACKAGE = "erp_common"
_lock = threading.RLock()
_loaded: set[str] = set()


@cache
def discover() -> dict[str, Domain]:
    """Every domain package, by name (from the packages' own declarations)."""
    found: dict[str, Domain] = {}
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"{_PACKAGE}.{info.name}")
        domain = getattr(module, "DOMAIN", None)
        if isinstance(domain, Domain):
            if domain.name != info.name:
                raise ValueError(f"package {info.name} declares the domain {domain.name!r}")
            found[domain.name] = domain
    for domain in found.values():
        for dep in domain.depends:
            if dep not in found:
                raise ValueError(f"domain {domain.name} depends on {dep!r}, which is no domain")
    return found


def ordered(names: list[str] | tuple[str, ...] | None = None) -> list[Domain]:
    """The named domains (default: all) with everything they depend on, dependencies first."""
    domains = discover()
    result: list[Domain] = []
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ValueError(f"domain dependency cycle: {' -> '.join(path + (name,))}")
        state[name] = "visiting"
        for dep in domains[name].depends:
            visit(dep, path + (name,))
        state[name] = "done"
        result.append(domains[name])

    for name in sorted(domains) if names is None else names:
        if name not in domains:
            raise LookupError(f"no domain called {name!r}")
        visit(name, ())
    return result


def dependencies(name: str) -> set[str]:
    """The domains ``name`` depends on, directly or not."""
    return {d.name for d in ordered([name])} - {name}


def _import_if_present(module: str) -> None:
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise  # a domain with no tables or no functions simply has no such module


def load(names: list[str] | tuple[str, ...] | None = None) -> None:
    """Import the tables and declared operations of these domains (default: all) and their dependencies."""
    with _lock:
        for domain in ordered(names):
            if domain.name in _loaded:
                continue
            _import_if_present(f"{_PACKAGE}.{domain.name}.models")
            _import_if_present(f"{_PACKAGE}.{domain.name}.operations")
            _loaded.add(domain.name)


def load_models() -> None:
    """Import every table definition (for migrations and the schema check)."""
    from . import events, idempotency  # noqa: F401  (the platform's own tables)

    for domain in ordered():
        _import_if_present(f"{_PACKAGE}.{domain.name}.models")
