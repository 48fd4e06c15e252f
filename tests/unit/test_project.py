"""The project's own consistency: stack files, function folders, declarations, migrations, docs."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from erp_common.domains import load as load_operations
from erp_common.operations import FUNCTION_NAME as DNS_1035
from erp_common.operations import REGISTRY
from erp_local.stack import load_stack

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = "python3-http-erp"
PRO_LABELS = ("com.openfaas.scale.type", "com.openfaas.scale.target", "com.openfaas.scale.zero",
              "com.openfaas.scale.target-proportion")


def declared() -> dict:
    load_operations()
    return {n: op for n, op in REGISTRY.items() if op.handler.__module__.startswith("erp_common.")}


def function_folders() -> set[str]:
    return {p.name for p in (ROOT / "functions").iterdir() if (p / "handler.py").exists()}


@pytest.mark.parametrize("stack_file", ["stack.yml", "stack.ce.yml"])
def test_every_function_in_the_stack_is_well_formed(stack_file):
    stack = load_stack(ROOT / stack_file)
    raw = yaml.safe_load((ROOT / stack_file).read_text())
    assert str(raw["version"]) == "1.0" and raw["provider"]["name"] == "openfaas"
    assert "./shared" in raw["configuration"]["copy"]
    for name, spec in stack.functions.items():
        assert DNS_1035.match(name) and len(name) <= 63, name
        assert spec.lang == TEMPLATE, name
        assert spec.image and ":" in spec.image, name
        assert (spec.handler / "handler.py").is_file(), name
        assert spec.handler.is_relative_to(ROOT), name
        assert "erp-jwt-secret" in spec.secrets and "erp-db-password" in spec.secrets, name
        memory = raw["functions"][name]
        # measured: 66-85 MB per function (docs/benchmarks.md); a limit under ~128 Mi kills one at start
        assert int(memory["requests"]["memory"][:-2]) >= 96 and int(memory["limits"]["memory"][:-2]) >= 192, name
        for schedule in spec.schedules:
            assert spec.topics == ["cron-function"], name
            from croniter import croniter
            assert croniter.is_valid(schedule), (name, schedule)
    assert (ROOT / "template" / TEMPLATE / "template.yml").is_file()


def test_stack_yml_has_one_function_per_operation_folder():
    stack = load_stack(ROOT / "stack.yml")
    assert set(stack.functions) == function_folders() == set(declared())
    for name, spec in stack.functions.items():
        op = declared()[name]
        assert spec.handler == ROOT / "functions" / name
        assert spec.labels.get("erp.service") == op.service, name
        if op.schedule:
            assert spec.annotations.get("schedule") == op.schedule, name
        if op.topic:
            assert spec.annotations.get("topic") == op.topic, name
        if not op.schedule and not op.topic:
            assert spec.labels.get("com.openfaas.scale.type"), name


def test_the_deployment_files_are_what_the_declarations_generate():
    """stack.yml, stack.ce.yml, functions/*, packs/*, the README tables and docs/functions.md are
    written by `make stack`; nothing in them is edited by hand."""
    from erp_local.stackgen import write_all

    assert write_all(ROOT, check=True) == [], "run `make stack` and commit what it writes"


def test_stack_ce_yml_serves_every_operation_within_ce_limits():
    from erp_local.stackgen import EVENTS_FUNCTION, ce_packs

    stack = load_stack(ROOT / "stack.ce.yml")
    assert len(stack.functions) <= 15
    packs = {pack.name: pack for pack in ce_packs(declared().values())}
    assert set(stack.functions) == set(packs)
    served: set[str] = set()
    for name, spec in stack.functions.items():
        assert not any(label in spec.labels for label in PRO_LABELS), name
        assert int(spec.labels.get("com.openfaas.scale.max", "5")) <= 5, name
        assert spec.handler == ROOT / "packs" / name
        if name == EVENTS_FUNCTION:
            assert spec.topics == packs[name].topics
        elif packs[name].scheduled:
            assert spec.topics == ["cron-function"] and spec.schedules == ["* * * * *"]
        else:
            assert spec.topics == [], name
        served |= {op.name for op in packs[name].operations}
    assert served == function_folders() == set(declared())


def test_the_ce_packing_stays_within_15_functions_at_full_size():
    """~10 services, ~10 event consumers and ~8 scheduled jobs (the seed's full scope) fit CE's limit."""
    from erp_common.operations import Operation
    from erp_local.stackgen import ce_packs

    def op(name, service, topic=None, schedule=None):
        return Operation(name=name, service=service, domain="d", handler=lambda ctx: None, summary="", input=None,
                         output=None, roles="public", methods=("POST",), status=200, path=None, idempotent=False,
                         topic=topic, schedule=schedule)

    services = ["user", "item", "stock", "order", "purchase", "production", "cost", "member", "promo", "job"]
    ops = [op(f"{s}-op{i}", s) for s in services for i in range(6)]
    ops += [op(f"consumer-{i}", services[i % 10], topic=f"thing.happened{i % 6}") for i in range(10)]
    ops += [op(f"job-{i}", "job", schedule=f"{i} * * * *") for i in range(8)]
    packs = ce_packs(ops)
    assert len(packs) == 11 <= 15
    assert {o.name for p in packs for o in p.operations} == {o.name for o in ops}


def test_handlers_are_thin_declarations():
    for folder in sorted(function_folders()):
        source = (ROOT / "functions" / folder / "handler.py").read_text()
        assert f'function_handler("{declared()[folder].domain}", "{folder}")' in source, folder
        tree = ast.parse(source)
        assert ast.get_docstring(tree), folder
        assert len(source.splitlines()) <= 8, folder
        assert "sqlalchemy" not in source.lower() and "select(" not in source, folder


def test_every_module_says_what_it_is_for():
    for path in list((ROOT / "shared" / "erp_common").rglob("*.py")) + list((ROOT / "infra").rglob("*.py")):
        assert ast.get_docstring(ast.parse(path.read_text())), path


def test_domain_code_does_not_import_flask():
    for path in (ROOT / "shared" / "erp_common").rglob("*.py"):
        assert not re.search(r"^\s*(from|import) (flask|werkzeug)", path.read_text(), re.M), path


def test_migrations_match_the_models():
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from erp_common.db import Base, get_engine
    from erp_common.domains import load_models

    load_models()
    with get_engine().connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], diff


def test_readme_documents_every_function():
    readme = (ROOT / "README.md").read_text()
    for name in function_folders():
        assert f"`{name}`" in readme, name
