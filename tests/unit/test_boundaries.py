"""The architecture's boundaries, checked over the imports (as import-linter's contracts would):
domains use each other's public face only, and only the ones they declare; business code knows
nothing of HTTP; one unit of work builds every context and publishes every event."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from erp_common import domains

PACKAGE = Path(__file__).resolve().parents[2] / "shared" / "erp_common"
PUBLIC_MODULES = {"api"}  # a domain's face; its __init__ only declares the domain


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every module ``path`` imports, as an absolute ``erp_common...`` name where it is one, with its line."""
    package = ".".join(("erp_common",) + path.relative_to(PACKAGE).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((module, node.lineno))
            found += [(f"{module}.{alias.name}", node.lineno) for alias in node.names]
    return found


def _domain_modules(name: str) -> list[Path]:
    return sorted((PACKAGE / name).rglob("*.py"))


def _target_domain(module: str) -> tuple[str, str] | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "erp_common" and parts[1] in domains.discover():
        return parts[1], parts[2] if len(parts) > 2 else ""
    return None


@pytest.mark.parametrize("name", sorted(domains.discover()))
def test_a_domain_imports_other_domains_through_their_public_face_only(name):
    declared = set(domains.discover()[name].depends)
    for path in _domain_modules(name):
        for module, line in _imports(path):
            target = _target_domain(module)
            if target is None or target[0] == name:
                continue
            other, inner = target
            where = f"{path.relative_to(PACKAGE)}:{line} imports {module}"
            assert inner in PUBLIC_MODULES or inner == "", f"{where}: only erp_common.{other}.api is public"
            assert other in declared, f"{where}: {name} does not declare that it depends on {other}"


def test_the_declared_dependencies_have_no_cycle_and_order_the_loading():
    order = [d.name for d in domains.ordered()]
    for domain in domains.discover().values():
        for dep in domain.depends:
            assert order.index(dep) < order.index(domain.name)


def test_business_code_knows_nothing_of_the_http_face():
    """Domain services, models, schemas and public faces never import the HTTP layer or a web framework;
    a domain's ``operations`` module declares with ``erp_common.operations``, not ``erp_common.http``."""
    for name in domains.discover():
        for path in _domain_modules(name):
            for module, line in _imports(path):
                assert not module.startswith(("erp_common.http", "flask", "werkzeug")), \
                    f"{path.relative_to(PACKAGE)}:{line} imports {module}"


def test_the_platform_core_does_not_import_a_domain():
    """Only the loader (``domains``) imports domain packages; the core serves whatever is declared."""
    for path in sorted(PACKAGE.glob("*.py")):
        for module, line in _imports(path):
            if path.name == "domains.py":
                continue
            assert _target_domain(module) is None, f"{path.name}:{line} imports {module}"


def _calls(path: Path, name: str) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Name) and node.func.id == name)
        or (isinstance(node.func, ast.Attribute) and node.func.attr == name))]


def test_only_the_unit_of_work_builds_a_context_and_publishes_events():
    roots = [PACKAGE, PACKAGE.parents[1] / "infra"]
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if path == PACKAGE / "uow.py":
                continue
            for name in ("Context", "write_outbox", "publish_after_commit", "committed"):
                assert not _calls(path, name), f"{path}: calls {name}() outside erp_common/uow.py"


def test_services_emit_typed_events_only():
    """``ctx.emit`` takes a DomainEvent instance, never a type string and a dict."""
    for name in domains.discover():
        for path in _domain_modules(name):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "emit":
                    assert len(node.args) == 1 and not isinstance(node.args[0], ast.Constant), \
                        f"{path.relative_to(PACKAGE)}:{node.lineno}: emit(SomeEvent(...))"
