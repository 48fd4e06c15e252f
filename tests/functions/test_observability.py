"""Metrics and logs through the gateway: /metrics parsed with prometheus_client's own parser shows
the counts the requests caused; every request, event and job run leaves one JSON line; no line
carries a password, a token, a secret, or a member's phone or e-mail."""
from __future__ import annotations

import io
import json
import logging
import time
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from erp_common import logs
from tests.conftest import ADMIN_PASSWORD, TEST_JWT_SECRET, auth, unique


def scrape(client, path: str = "/metrics") -> dict[tuple[str, tuple], float]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(autouse=True)
def fresh_database_gauges(monkeypatch):
    """Read the database at every scrape here (it is cached a few seconds otherwise)."""
    from erp_common import metrics

    monkeypatch.setattr(metrics.DATABASE, "ttl", 0.0)


@pytest.fixture(scope="module")
def cashier(make_user):
    return make_user("cashier")[1]


def test_metrics_count_what_the_requests_did(client, cashier, make_sku, put_stock):
    sku_id, code = make_sku("10.00")
    put_stock(sku_id, 3)
    before = scrape(client)
    order = {"lines": [{"sku_id": sku_id, "quantity": 2}]}
    assert client.post("/function/order-create", json=order, headers=auth(cashier)).status_code == 201
    assert client.post("/function/order-create", json=order, headers=auth(cashier)).status_code == 409
    assert client.post("/function/user-login", json={"username": "admin", "password": "wrong"}).status_code == 401
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    # The OpenFaaS gateway's series, by function and status, and the function's own.
    assert delta("gateway_function_invocation_total", function_name="order-create", code="201") == 1
    assert delta("gateway_function_invocation_total", function_name="order-create", code="409") == 1
    assert delta("gateway_functions_seconds_count", function_name="order-create", code="201") == 1
    assert delta("gateway_functions_seconds_bucket", function_name="order-create", code="201", le="+Inf") == 1
    assert delta("erp_function_invocation_total", function_name="user-login", code="401") == 1
    # The business's.
    assert delta("erp_orders_created_total") == 1
    assert delta("erp_stock_refusals_total") == 1
    assert delta("erp_login_failures_total", reason="invalid_credentials") == 1
    # Read from the database when scraped.
    assert value(after, "erp_metrics_database_up") == 1
    assert ("erp_outbox_unpublished_events", ()) in after
    assert value(after, "erp_outbox_oldest_unpublished_age_seconds") >= 0


def test_a_job_run_and_a_redelivery_are_counted(client, admin_token):
    before = scrape(client)
    response = client.post("/function/job-relay-events", headers=auth(admin_token))
    assert response.status_code == 200, response.text
    after = scrape(client)
    assert value(after, "erp_job_runs_total", job_name="job-relay-events", status="succeeded") - \
        value(before, "erp_job_runs_total", job_name="job-relay-events", status="succeeded") == 1
    assert value(after, "erp_job_last_run_timestamp_seconds", job_name="job-relay-events") > 0


def test_a_function_serves_metrics_to_a_scraper_not_through_the_gateway(gateway):
    from werkzeug.test import Client

    app = gateway.gateway.apps["item-get"]
    direct = Client(app).get("/metrics")  # as Prometheus scrapes the pod
    assert direct.status_code == 200
    assert b"erp_function_invocation_total" in direct.data
    via_gateway = Client(app).get("/metrics", headers={"X-Call-Id": "c1"})  # the gateway adds X-Call-Id
    assert via_gateway.status_code != 200 and b"erp_function_invocation_total" not in via_gateway.data


@pytest.fixture
def captured_logs():
    """Every log record of the process, formatted as the functions write them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_one_json_line_per_request_and_no_secret_in_any_line(client, admin_token, cashier, captured_logs, gateway,
                                                              make_sku, put_stock):
    sku_id, _ = make_sku("10.00")
    put_stock(sku_id, 3)
    password = "Pw-" + uuid.uuid4().hex
    phone = "139" + f"{uuid.uuid4().int % 10**8:08d}"
    email = f"{unique('m')}@example.com"
    call_id = uuid.uuid4().hex
    username = unique("u")
    response = client.post("/function/user-create", headers={**auth(admin_token), "X-Call-Id": call_id}, json={
        "username": username, "password": password, "full_name": "Log Test", "roles": ["cashier"]})
    assert response.status_code == 201, response.text
    user_id = response.json()["id"]
    login = client.post("/function/user-login", json={"username": username, "password": password})
    token = login.json()["access_token"]
    client.post("/function/user-login", json={"username": username, "password": password + "-wrong"})
    client.post("/function/member-register", headers=auth(cashier), json={"name": "Li Lei", "phone": phone,
                                                                          "email": email})
    # Taken again: the database would quote the duplicate in its error, had the service not caught it.
    client.post("/function/member-register", headers=auth(cashier), json={"name": "Li Lei", "phone": phone,
                                                                          "email": email})
    client.get("/function/member-get", params={"phone": phone}, headers=auth(cashier))
    assert client.get("/function/order-list", headers=auth(token)).status_code == 200
    order = client.post("/function/order-create", json={"lines": [{"sku_id": sku_id, "quantity": 1}]},
                        headers=auth(cashier)).json()
    paid = client.post(f"/function/order-pay/{order['number']}", json={"amount": order["amount_due"]},
                       headers=auth(cashier))
    assert paid.status_code == 200, paid.text
    client.post("/function/job-relay-events", headers=auth(admin_token))
    from erp_common import events
    events.background.wait(10)
    gateway.gateway.executor.submit(lambda: None).result(10)

    text = captured_logs.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("kind") == "request"]
    mine = [line for line in requests if line["call_id"] == call_id]
    assert len(mine) == 1
    assert mine[0]["function"] == "user-create" and mine[0]["status"] == 201
    assert mine[0]["user_id"] is not None and mine[0]["duration_ms"] >= 0
    assert any(line["function"] == "order-list" and line["user_id"] == user_id for line in requests)
    assert any(line.get("kind") == "job" and line["job"] == "job-relay-events" for line in lines)
    assert wait_for(lambda: '"kind": "event"' in captured_logs.getvalue()), "order.paid reaches its consumers"
    text = captured_logs.getvalue()
    for secret in (password, phone, email, email.split("@")[0], token, TEST_JWT_SECRET, ADMIN_PASSWORD):
        assert secret not in text, f"{secret!r} reached the logs"


@pytest.mark.parametrize("text, hidden", [
    ("duplicate entry '13912345678' for key", "13912345678"),
    ("mail mei@example.com taken", "mei@example.com"),
    ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
    ("token eyJhbGciOi.eyJzdWIi.sig", "eyJhbGciOi.eyJzdWIi.sig"),
    ("call +86 139-1234-5678 now", "139-1234-5678"),
])
def test_redaction_masks_what_looks_like_a_phone_an_email_or_a_token(text, hidden):
    assert hidden not in logs.redact(text)


@pytest.mark.parametrize("text", ["call 1f3a9c0d2e", "at 2026-12-02T03:00:00Z", "took 12.5 ms",
                                  "order SO20261202000123", "order-pay POST /476 200", "ids 123 456 7"])
def test_redaction_keeps_ids_times_and_figures(text):
    assert logs.redact(text) == text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("abcBEARERbearer eyJ.@-_+ 0123456789x:/"), max_size=60))
def test_the_quick_check_before_redaction_skips_nothing_a_pattern_would_mask(text):
    masked = text
    for pattern, replacement in logs._PATTERNS:  # the four substitutions, with no check before them
        masked = pattern.sub(replacement, masked)
    assert logs.redact(text) == masked
