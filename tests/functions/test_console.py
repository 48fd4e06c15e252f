"""The console function over HTTP: its static files, operations.json, its paths on both packings.

(The pages themselves are driven in a browser by tests/console.)
"""
from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import ROOT, RunningGateway
from tests.functions.test_identity import assert_error

STATIC = ROOT / "shared" / "erp_common" / "console" / "static"
TYPES = {"html": "text/html", "css": "text/css", "js": "text/javascript"}


@pytest.mark.parametrize("path", ["/console/", "/function/console/", "/function/console", "/console"])
def test_the_index_page_at_every_path(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="app.js">' in response.text
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_every_static_file_is_served_with_its_type(client):
    files = sorted(p for p in STATIC.iterdir() if p.is_file())
    assert len(files) > 10
    for path in files:
        response = client.get(f"/function/console/{path.name}")
        assert response.status_code == 200, path.name
        assert response.content == path.read_bytes()
        assert response.headers["content-type"].startswith(TYPES[path.suffix[1:]]), path.name


def test_unknown_and_unsafe_names(client):
    assert_error(client.get("/console/nope.js"), 404, "not_found", field="file")
    assert_error(client.get("/function/console/..%2Fschemas.py"), 404, "unknown_path")  # a path, not a name
    assert_error(client.get("/function/console/services.py"), 422, field="file")
    assert_error(client.get("/function/console/app.js/more"), 404)
    assert_error(client.post("/function/console/app.js"), 405)


def test_operations_json_is_what_the_declarations_say(client):
    from erp_common import domains
    from erp_common.operations import REGISTRY

    domains.load()
    table = client.get("/console/operations.json").json()
    http = {op.name: op for op in REGISTRY.values() if op.trigger == "http" and op.domain in domains.discover()}
    assert set(table) == set(http)
    for name, op in http.items():
        roles = op.roles if isinstance(op.roles, str) else sorted(op.roles)
        assert table[name] == {"roles": roles, "methods": list(op.methods), "service": op.service,
                               "short": op.short_name}, name
    assert table["console"]["roles"] == "public" and table["order-create"]["roles"] == ["admin", "cashier", "manager"]


def test_every_page_and_import_names_a_file_that_exists():
    pages = (STATIC / "pages.js").read_text()
    modules = re.findall(r'module: "\./([\w-]+\.js)"', pages)
    assert len(modules) >= 10
    for source in STATIC.glob("*.js"):
        for name in modules + re.findall(r'from "\./([\w-]+\.js)"', source.read_text()):
            assert (STATIC / name).is_file(), f"{source.name}: {name}"


def test_the_ce_packing_serves_the_console_as_one_function(database):
    running = RunningGateway(ROOT / "stack.ce.yml")
    try:
        with httpx.Client(base_url=running.url, timeout=30) as http:
            assert http.get("/console/").headers["content-type"].startswith("text/html")
            assert http.get("/function/console/app.js").headers["content-type"].startswith("text/javascript")
            assert "user-login" in http.get("/function/console/operations.json").json()
    finally:
        running.close()
