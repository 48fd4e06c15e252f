"""The local gateway speaks the OpenFaaS gateway's API as faas-cli 0.18 uses it: system info,
list, describe, namespaced invocations, invocation counts; and the seed's ``GET /health``.

Answers are checked with openapi-core's response validator against ``openfaas_gateway_api.yml``
(the routes and fields faas-cli reads, transcribed from the published API).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.response.exceptions import InvalidData

from tests.conftest import ADMIN_PASSWORD, RunningGateway, auth
from tests.functions.test_identity import assert_error

API = OpenAPI.from_file_path(str(Path(__file__).with_name("openfaas_gateway_api.yml")))


def valid(response: httpx.Response) -> httpx.Response:
    """``response``, once openapi-core has found it to be what the OpenFaaS API answers there."""
    request = response.request
    content_type = response.headers.get("content-type", "").split(";")[0]
    API.validate_response(
        MockRequest("http://127.0.0.1:8080", request.method, request.url.path, args=dict(request.url.params),
                    data=request.content, content_type=request.headers.get("content-type", "")),
        MockResponse(response.content, status_code=response.status_code, headers=dict(response.headers),
                     content_type=content_type),
    )
    return response


def invocations(client, name: str) -> int:
    return next(f["invocationCount"] for f in client.get("/system/functions").json() if f["name"] == name)


def test_the_document_is_checked_for_real():
    bad = httpx.Response(200, json={"provider": {"provider": "x", "orchestration": "y"},
                                    "version": {"sha": "s", "release": "r", "commit_message": "m"}, "arch": "a"},
                         request=httpx.Request("GET", "http://127.0.0.1:8080/system/info"))
    with pytest.raises(InvalidData):  # provider.version missing: faas-cli version panics on that
        valid(bad)


class TestSystemAPI:
    def test_info_has_what_faas_cli_version_prints(self, client):
        info = valid(client.get("/system/info")).json()
        assert info["provider"]["version"]["release"] == info["version"]["release"]
        assert info["provider"]["orchestration"] and info["version"]["sha"]

    def test_list_has_every_function_with_its_status(self, client):
        functions = valid(client.get("/system/functions")).json()
        assert valid(client.get("/system/functions", params={"namespace": "openfaas-fn"})).json() == functions
        by_name = {f["name"]: f for f in functions}
        login = by_name["user-login"]
        assert login["namespace"] == "openfaas-fn" and login["envProcess"] == "python index.py"
        assert login["replicas"] == login["availableReplicas"] == 1
        assert login["image"].endswith("/erp-user-login:0.1.0")
        assert login["labels"]["erp.service"] == "user" and login["annotations"] == {}
        assert by_name["job-relay-events"]["annotations"]["schedule"] == "* * * * *"
        created = {f["createdAt"] for f in functions}
        assert len(created) == 1  # the gateway's start, for every function
        started = datetime.fromisoformat(created.pop().replace("Z", "+00:00"))
        assert started.year > 2000 and started <= datetime.now(timezone.utc)

    def test_describe_one_function(self, client):
        one = valid(client.get("/system/function/user-me", params={"usage": "1"})).json()
        assert one["name"] == "user-me" and one["operations"] == ["user-me"]
        same = valid(client.get("/system/function/user-me", params={"namespace": "openfaas-fn", "usage": "1"}))
        assert same.json()["name"] == "user-me"
        missing = valid(client.get("/system/function/no-such-function"))
        assert_error(missing, 404, "function_not_found", field="function")

    def test_another_namespace_is_a_json_404(self, client):
        for response in (client.get("/system/functions", params={"namespace": "dev"}),
                         client.get("/system/function/user-me", params={"namespace": "dev"}),
                         client.post("/function/user-login.dev", json={}),
                         client.post("/async-function/user-login.dev", json={})):
            assert_error(valid(response), 404, "namespace_not_found", field="namespace")

    def test_deploying_is_refused_plainly(self, client):
        response = client.post("/system/functions", json={"service": "x", "image": "y"})
        assert_error(response, 405, "method_not_allowed")
        assert response.headers["Allow"] == "GET"


class TestNamespacedInvocation:
    def test_invoke_by_name_and_namespace(self, client):
        # What `faas-cli invoke user-login` sends: POST /function/user-login.openfaas-fn
        login = valid(client.post("/function/user-login.openfaas-fn",
                                  json={"username": "admin", "password": ADMIN_PASSWORD}))
        assert login.status_code == 200
        token = login.json()["access_token"]
        me = client.get("/function/user-me.openfaas-fn", headers=auth(token))
        assert me.status_code == 200 and me.json()["username"] == "admin"
        user = client.get(f"/function/user-get.openfaas-fn/{me.json()['id']}", headers=auth(token))
        assert user.status_code == 200 and user.json()["username"] == "admin"

    def test_async_invoke_by_name_and_namespace(self, client):
        response = valid(client.post("/async-function/user-login.openfaas-fn",
                                     json={"username": "admin", "password": ADMIN_PASSWORD}))
        assert response.status_code == 202 and response.headers["X-Call-Id"]

    def test_an_unknown_function_in_the_namespace_is_404(self, client):
        assert_error(valid(client.post("/function/no-such-function.openfaas-fn", json={})), 404,
                     "function_not_found")


class TestInvocationCount:
    def test_every_invocation_counts_once(self, client, admin_token):
        before = invocations(client, "user-me")
        for path in ("/function/user-me", "/function/user-me.openfaas-fn", "/user/me"):
            assert client.get(path, headers=auth(admin_token)).status_code == 200
        assert client.get("/function/user-me", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert invocations(client, "user-me") == before + 4

    def test_concurrent_invocations_are_all_counted(self, gateway, admin_token):
        with httpx.Client(base_url=gateway.url, timeout=30) as http:
            before = invocations(http, "user-me")

            def call(_):
                with httpx.Client(base_url=gateway.url, timeout=30) as own:
                    return own.get("/function/user-me", headers=auth(admin_token)).status_code

            with ThreadPoolExecutor(8) as pool:
                assert list(pool.map(call, range(40))) == [200] * 40
            assert invocations(http, "user-me") == before + 40

    def test_health_checks_are_not_invocations(self, client):
        before = invocations(client, "user-me")
        assert client.get("/user/health").status_code == 200
        assert client.get("/health").status_code == 200
        assert invocations(client, "user-me") == before

    def test_describe_reports_the_count(self, client, admin_token):
        client.get("/function/user-me", headers=auth(admin_token))
        one = client.get("/system/function/user-me").json()
        assert one["invocationCount"] == invocations(client, "user-me") >= 1


class TestHealth:
    def test_every_service_is_reported(self, client):
        response = client.get("/health")
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body["status"] == "ok"
        services = {f["name"]: f["labels"].get("erp.service") for f in client.get("/system/functions").json()}
        assert set(body["services"]) == {s or n.split("-")[0] for n, s in services.items()}
        user = client.get("/user/health").json()
        assert body["services"]["user"] == {"status": user["status"], "functions": user["functions"]}
        assert all(v == "ok" for s in body["services"].values() for v in s["functions"].values())

    def test_a_failing_function_makes_it_503(self, tmp_path, database):
        handler = tmp_path / "functions" / "broken-ready"
        handler.mkdir(parents=True)
        (handler / "handler.py").write_text(
            "def handle(event, context):\n"
            "    return {'statusCode': 503, 'body': {'error': {'code': 'down', 'message': 'down', 'details': []}}}\n")
        (tmp_path / "stack.yml").write_text(
            "version: 1.0\nprovider: {name: openfaas}\nfunctions:\n"
            "  broken-ready:\n    lang: python3-http-erp\n    handler: ./functions/broken-ready\n    image: test\n"
            f"  user-me:\n    lang: python3-http-erp\n    handler: {Path(__file__).parents[2] / 'functions/user-me'}\n"
            "    image: test\n")
        running = RunningGateway(tmp_path / "stack.yml")
        try:
            response = httpx.get(running.url + "/health", timeout=30)
            assert response.status_code == 503
            body = response.json()
            assert body["status"] == "degraded"
            assert body["services"]["broken"] == {"status": "degraded", "functions": {"broken-ready": "failing (503)"}}
            assert body["services"]["user"]["status"] == "ok"
        finally:
            running.close()
