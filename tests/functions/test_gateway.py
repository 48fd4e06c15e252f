"""The local gateway over HTTP: OpenFaaS routes, async calls, docs, seed paths, events, schedules."""
from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from erp_common.operations import CONNECTOR, operation
from tests.conftest import ADMIN_PASSWORD, ROOT, RunningGateway, auth, unique
from tests.functions.test_identity import assert_error

RECEIVED: list[dict] = []


def _record_user_created(ctx, envelope) -> None:
    """A test consumer: remembers each user.created event it processes (typed: a UserCreated)."""
    from erp_common.identity.api import UserCreated

    assert isinstance(envelope.event, UserCreated)
    RECEIVED.append({"event_id": envelope.id, "username": envelope.event.username})


operation("test-user-created", service="test", summary="test consumer", roles=CONNECTOR,
          topic="user.created")(_record_user_created)


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


class TestOpenFaasRoutes:
    def test_healthz(self, client):
        response = client.get("/healthz")
        assert response.status_code == 200 and response.text == "OK"

    def test_system_functions_lists_every_function_with_annotations(self, client):
        functions = {f["name"]: f for f in client.get("/system/functions").json()}
        assert {"user-login", "user-me", "user-create", "user-get", "user-list", "user-update",
                "job-relay-events"} <= set(functions)
        relay = functions["job-relay-events"]
        assert relay["annotations"] == {"topic": "cron-function", "schedule": "* * * * *"}
        assert functions["user-login"]["labels"]["com.openfaas.scale.type"] == "rps"
        assert "erp-jwt-secret" in functions["user-login"]["secrets"]
        one = client.get("/system/function/user-login").json()
        assert one["name"] == "user-login" and one["operations"] == ["user-login"]

    def test_unknown_function_is_a_json_404(self, client):
        assert_error(client.post("/function/no-such-function", json={}), 404, "function_not_found")

    def test_unknown_sub_path_is_404(self, client, admin_token):
        assert_error(client.get("/function/user-me/extra/path", headers=auth(admin_token)), 404, "unknown_path")

    def test_wrong_method_is_405_with_allow(self, client):
        response = client.get("/function/user-login")
        assert_error(response, 405, "method_not_allowed")
        assert response.headers["Allow"] == "POST"

    def test_call_id_is_returned(self, client):
        response = client.get("/healthz")
        response = client.post("/function/user-login", json={}, headers={"X-Call-Id": "abc-123"})
        assert response.headers["X-Call-Id"] == "abc-123"
        assert response.headers["X-Request-Id"] == "abc-123"
        assert float(response.headers["X-Duration-Seconds"]) >= 0

    def test_readiness_reaches_the_handler(self, client):
        response = client.get("/function/user-me/_/ready")
        body = response.json()
        assert response.status_code == 200 and body["status"] == "ok" and body["database"] == "ok"
        assert body["cache"] in ("ok", "in-process")

    def test_async_function_calls_back(self, client, gateway):
        received: list[tuple[dict, bytes]] = []

        class Callback(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"] or 0))
                received.append((dict(self.headers), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        server = HTTPServer(("127.0.0.1", 0), Callback)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            response = client.post("/async-function/user-login",
                                   json={"username": "admin", "password": ADMIN_PASSWORD},
                                   headers={"X-Callback-Url": f"http://127.0.0.1:{server.server_port}/done"})
            assert response.status_code == 202 and response.headers["X-Call-Id"]
            assert wait_for(lambda: received)
            headers, body = received[0]
            assert headers["X-Call-Id"] == response.headers["X-Call-Id"]
            assert headers["X-Function-Status"] == "200" and headers["X-Function-Name"] == "user-login"
            assert "access_token" in json.loads(body)
        finally:
            server.shutdown()

    def test_async_function_needs_post(self, client):
        assert_error(client.get("/async-function/user-login"), 405)
        assert_error(client.post("/async-function/nope", json={}), 404)


class TestPeopleRoutes:
    def test_docs_page_and_its_local_assets(self, client):
        page = client.get("/docs")
        assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text and "http" not in page.text.split(
            "<body>")[1].split("SwaggerUIBundle({")[0]
        for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
            assert client.get(f"/docs/assets/{asset}").status_code == 200
        assert client.get("/docs/assets/../../etc/passwd").status_code == 404

    def test_openapi_lists_every_operation(self, client):
        spec = client.get("/docs/openapi.json").json()
        assert spec["openapi"].startswith("3.")
        paths = spec["paths"]
        assert "post" in paths["/function/user-login"]
        assert "get" in paths["/function/user-get/{user_id}"]
        assert {"post", "patch", "put"} <= set(paths["/function/user-update/{user_id}"])
        assert paths["/function/user-me"]["get"]["security"] == [{"bearer": []}]
        functions = client.get("/system/functions").json()
        documented = {p.split("/")[2] for p in paths}
        assert {f["name"] for f in functions} == documented

    def test_seed_paths(self, client):
        login = client.post("/user/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert login.status_code == 200
        health = client.get("/user/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert set(health.json()["functions"]) >= {"user-login", "user-me"}
        assert client.get("/user/docs").status_code == 200
        spec = client.get("/user/openapi.json").json()
        assert all(p.startswith("/function/user-") for p in spec["paths"])
        assert client.get("/job/health").status_code == 200
        assert_error(client.get("/nosuchservice/health"), 404)
        assert_error(client.post("/user/nosuchop", json={}), 404)

    def test_root_answers(self, client):
        assert client.get("/").json()["docs"] == "/docs"


class TestSchedules:
    def test_relay_job_runs_and_is_logged(self, client, gateway, admin_token):
        assert gateway.gateway.run_scheduled("job-relay-events") == 200
        runs = client.get("/function/job-run-list", params={"job": "job-relay-events"},
                          headers=auth(admin_token)).json()
        assert runs["total"] >= 1 and runs["items"][0]["status"] == "succeeded"

    def test_due_functions_follow_the_cron_expression(self, gateway):
        from datetime import datetime, timezone

        assert "job-relay-events" in gateway.gateway.due_functions(datetime(2026, 1, 1, 3, 7, tzinfo=timezone.utc))


@pytest.fixture(scope="module")
def event_gateway(tmp_path_factory, database):
    folder = tmp_path_factory.mktemp("stack")
    handler = folder / "functions" / "test-user-created"
    handler.mkdir(parents=True)
    (handler / "handler.py").write_text(
        "from erp_common.http import function_handler\n"
        "handle = function_handler('tests.functions.test_gateway', 'test-user-created')\n")
    (folder / "stack.yml").write_text(
        "version: 1.0\nprovider: {name: openfaas}\nfunctions:\n"
        "  test-user-created:\n    lang: python3-http-erp\n    handler: ./functions/test-user-created\n"
        "    image: test\n    annotations: {topic: user.created}\n"
        "  user-create:\n    lang: python3-http-erp\n"
        f"    handler: {ROOT / 'functions' / 'user-create'}\n    image: test\n")
    running = RunningGateway(folder / "stack.yml")
    yield running
    running.close()


class TestEvents:
    def test_event_reaches_the_subscriber_once(self, event_gateway, admin_token):
        username = unique("evt")
        with httpx.Client(base_url=event_gateway.url, timeout=30) as http:
            response = http.post("/function/user-create", headers=auth(admin_token),
                                 json={"username": username, "password": "s3cret-pass", "roles": ["cashier"]})
            assert response.status_code == 201
            assert wait_for(lambda: any(r["username"] == username for r in RECEIVED))
            event_id = next(r["event_id"] for r in RECEIVED if r["username"] == username)
            again = http.post("/function/test-user-created", json={"id": event_id, "type": "user.created"})
            assert again.status_code == 200 and again.json()["status"] == "already_processed"
            assert sum(1 for r in RECEIVED if r["username"] == username) == 1

    def test_forged_events_are_refused(self, event_gateway):
        with httpx.Client(base_url=event_gateway.url, timeout=30) as http:
            assert_error(http.post("/function/test-user-created", json={"id": "no-such-event"}), 404,
                         "unknown_event")
            assert_error(http.post("/function/test-user-created", content=b"not json"), 422, field="id")


class TestCommunityEditionPacking:
    def test_packed_functions_serve_the_same_operations(self, database):
        running = RunningGateway(ROOT / "stack.ce.yml")
        try:
            with httpx.Client(base_url=running.url, timeout=30) as http:
                login = http.post("/function/user/login", json={"username": "admin", "password": ADMIN_PASSWORD})
                assert login.status_code == 200
                token = login.json()["access_token"]
                me = http.get("/function/user/me", headers=auth(token))
                assert me.status_code == 200 and me.json()["username"] == "admin"
                user_id = me.json()["id"]
                assert http.get(f"/function/user/get/{user_id}", headers=auth(token)).json()["id"] == user_id
                seed = http.post("/user/login", json={"username": "admin", "password": ADMIN_PASSWORD})
                assert seed.status_code == 200
                assert_error(http.get("/function/user/nope", headers=auth(token)), 404, "unknown_operation")
                assert http.post("/function/job/relay-events").status_code == 200
                # the cron connector calls the job pack with no path: every job due this minute runs
                ran = http.post("/function/job", headers={"X-Connector": "cron-connector"})
                assert ran.status_code == 200
                # every job due this minute runs: the every-minute ones always (hourly and daily ones
                # join them in their minute)
                assert {"job-cancel-unpaid-orders": 200, "job-relay-events": 200}.items() <= ran.json()["ran"].items()
                assert set(ran.json()["ran"].values()) == {200}
                spec = http.get("/docs/openapi.json").json()
                assert "/function/user/login" in spec["paths"]
        finally:
            running.close()


def test_path_fields_are_not_asked_for_in_the_body(client):
    spec = client.get("/docs/openapi.json").json()
    body = spec["paths"]["/function/user-update/{user_id}"]["patch"]["requestBody"]["content"]["application/json"]
    assert "user_id" not in body["schema"]["properties"] and "roles" in body["schema"]["properties"]


def test_the_event_catalogue_is_an_asyncapi_document_of_every_event(client):
    """/docs/asyncapi.json: every registered event type, its payload schema, who sends and receives it."""
    from erp_common.events import EVENT_TYPES

    doc = client.get("/docs/asyncapi.json").json()
    assert doc["asyncapi"] == "3.0.0"
    assert set(doc["channels"]) == {event_type for event_type, _ in EVENT_TYPES}
    stock = doc["channels"]["stock.changed"]
    assert stock["address"] == "stock.changed" and "StockChangedV2" in stock["messages"]
    envelope = doc["components"]["schemas"]["StockChangedV2Envelope"]
    assert envelope["properties"]["data"] == {"$ref": "#/components/schemas/StockChanged"}
    assert envelope["properties"]["version"] == {"const": 2}
    lines = doc["components"]["schemas"]["StockChanged"]["properties"]["lines"]
    assert lines["items"]["$ref"].endswith("/StockLineChange")
    sent = doc["operations"]["sales.send.order.paid"]
    assert sent["action"] == "send" and sent["channel"] == {"$ref": "#/channels/order.paid"}
    # every $ref resolves inside the document
    refs = []

    def walk(node):
        if isinstance(node, dict):
            refs.extend(v for k, v in node.items() if k == "$ref")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    for ref in refs:
        target = doc
        for part in ref.lstrip("#/").split("/"):
            target = target[part]


class TestErrorsKeepTheirShape:
    """Whatever answers an error, the function, Flask's router or the server's body limit: the one JSON shape
    (only a request the server cannot parse at all is a bare 400)."""

    def raw(self, gateway, request: bytes) -> tuple[int, dict, bytes]:
        import socket
        from urllib.parse import urlsplit

        where = urlsplit(gateway.url)
        with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
            sock.sendall(request)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        return int(lines[0].split()[1]), headers, body

    def test_raw_utf8_in_a_query_string_is_read_as_curl_sends_it(self, gateway, admin_token):
        request = ("GET /function/item-list?q=T\u6064 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   f"Authorization: Bearer {admin_token}\r\n\r\n").encode()
        status, headers, body = self.raw(gateway, request)
        assert status == 200 and headers["content-type"].startswith("application/json"), body[:300]
        assert "items" in json.loads(body)

    def test_what_the_server_cannot_parse_is_a_bare_400(self, gateway):
        # granian answers before any Python runs, with no body (waitress's answer was JSON; the OpenFaaS
        # gateway and of-watchdog, in front of a function, answer such requests in plain text anyway).
        status, headers, body = self.raw(gateway, b"GET /function/user-me HTTP/1.1\r\nHost: x\r\nContent-Length: x"
                                                  b"\r\nConnection: close\r\n\r\n")
        assert status == 400 and headers["connection"] == "close" and body == b"", (headers, body)

    def test_a_body_over_the_limit_is_413_json(self, gateway):
        size = 33 * 1024 * 1024
        status, headers, body = self.raw(gateway, b"POST /function/user-login HTTP/1.1\r\nHost: x\r\n"
                                                  b"Content-Type: application/json\r\nConnection: close\r\n"
                                                  + f"Content-Length: {size}\r\n\r\n".encode())
        assert status == 413 and json.loads(body)["error"]["code"] == "payload_too_large"

    def test_a_path_the_router_cannot_take_is_json(self, client, admin_token):
        response = client.get("/function/order-get/a%0Ab", headers=auth(admin_token))
        assert response.status_code == 404 and response.headers["content-type"].startswith("application/json")
        assert set(response.json()["error"]) == {"code", "message", "details"}

    def test_the_gateway_s_own_404s_name_what_was_wrong(self, client):
        for path in ("/function/nosuch", "/nosuch/x", "/user/nosuchop", "/docs/nothing"):
            response = client.get(path)
            assert response.status_code == 404, path
            detail = response.json()["error"]["details"][0]
            assert detail["field"] and detail["message"], (path, detail)


class TestWhatTheGatewayLetsThrough:
    """/system/* behind basic auth beyond loopback (as OpenFaaS's gateway); callbacks only to allowed hosts."""

    @pytest.fixture
    def guarded(self, database):
        from werkzeug.test import Client

        from erp_local.gateway import Gateway

        gateway = Gateway(ROOT / "stack.yml", templates_dir=ROOT / "templates", schedules=False,
                          events_enabled=False, system_password="s3cret-pw")
        yield Client(gateway)
        gateway.close()

    def test_the_system_api_needs_basic_auth_when_the_gateway_has_a_password(self, guarded):
        import base64

        refused = guarded.get("/system/functions")
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic")
        assert refused.json["error"]["details"][0]["field"] == "Authorization"
        wrong = base64.b64encode(b"admin:nope").decode()
        assert guarded.get("/system/functions", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
        right = base64.b64encode(b"admin:s3cret-pw").decode()
        assert guarded.get("/system/functions", headers={"Authorization": f"Basic {right}"}).status_code == 200
        assert guarded.get("/healthz").status_code == 200  # what OpenFaaS leaves open stays open

    def test_erp_run_beyond_loopback_makes_a_password(self, monkeypatch, capsys):
        from erp_local.cli import guard_system_api

        monkeypatch.delenv("ERP_GATEWAY_PASSWORD", raising=False)
        guard_system_api("127.0.0.1")
        assert "ERP_GATEWAY_PASSWORD" not in os.environ
        guard_system_api("0.0.0.0")
        password = os.environ["ERP_GATEWAY_PASSWORD"]
        assert len(password) >= 20 and password in capsys.readouterr().err

    def test_callbacks_go_only_to_allowed_hosts(self, client):
        refused = client.post("/async-function/user-login", json={},
                              headers={"X-Callback-Url": "http://169.254.169.254/latest/meta-data"})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "callback_not_allowed"
        assert refused.json()["error"]["details"][0]["field"] == "X-Callback-Url"


class TestJobsRunOncePerPeriod:
    """Anyone can reach a job's function (the connectors send no token): a repeat inside the period of
    its cron expression is skipped and logged, with no run row; a manager may run it again at once."""

    def test_a_repeat_in_the_period_is_skipped_and_a_manager_runs_it_now(self, client, make_user):
        from sqlalchemy import func, select

        from erp_common.db import transaction
        from erp_common.jobs.models import JobRun

        def runs() -> int:
            with transaction(readonly=True) as session:
                return session.scalar(select(func.count()).select_from(JobRun).where(JobRun.job == "job-relay-events"))

        client.post("/function/job-relay-events")  # this minute's run (unless one ran already)
        before = runs()
        repeats = [client.post("/function/job-relay-events").json() for _ in range(3)]
        assert [r["status"] for r in repeats] == ["skipped"] * 3 and all(r["id"] is None for r in repeats)
        assert repeats[0]["summary"]["reason"] == "already ran in this period"
        assert runs() == before  # no run row for a skipped call
        cashier = auth(make_user("cashier")[1])
        assert client.post("/function/job-relay-events", headers=cashier).json()["status"] == "skipped"
        manager = auth(make_user("manager")[1])
        forced = client.post("/function/job-relay-events", headers=manager).json()
        assert forced["status"] == "succeeded" and forced["id"] and runs() == before + 1
        assert client.post("/function/job-relay-events", headers={"Authorization": "Bearer forged"}).status_code == 401

    def test_the_period_is_the_cron_expression_s(self):
        from datetime import datetime, timezone

        from erp_common.jobs.services import period_start

        at = datetime(2026, 12, 2, 15, 7, 42, tzinfo=timezone.utc)
        assert period_start("* * * * *", at) == at.replace(second=0)
        assert period_start("0 2 * * *", at) == datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc)
        assert period_start("0 2 * * *", datetime(2026, 12, 2, 1, 59, tzinfo=timezone.utc)) == \
            datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
        assert period_start("0 * * * *", at) == at.replace(minute=0, second=0)

    def test_with_a_connector_secret_an_anonymous_call_must_carry_it(self, client, monkeypatch):
        from dataclasses import replace

        from erp_common import config

        settings = config.get_settings()
        monkeypatch.setattr("erp_common.http.get_settings", lambda: replace(settings, connector_secret="c0nnect"))
        refused = client.post("/function/job-relay-events")
        assert refused.status_code == 401 and refused.json()["error"]["details"][0]["field"] == "X-Connector-Secret"
        allowed = client.post("/function/job-relay-events", headers={"X-Connector-Secret": "c0nnect"})
        assert allowed.status_code == 200
