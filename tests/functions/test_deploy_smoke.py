"""docs/deploy.md's smoke test, request for request, on the seed's paths of the local gateway (the paths
the cluster's Ingresses map onto the same functions): sign in, health, an item, stock, the first order."""
from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ADMIN_PASSWORD, auth

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def test_the_runbooks_smoke_test_takes_the_first_order(client):
    runbook = DEPLOY.read_text(encoding="utf-8")
    for path in ("/user/login", "/user/health", "/order/health", "/item/create", "/stock/adjust", "/order/create"):
        assert f"$INGRESS{path}" in runbook, path  # the requests below are the runbook's
    login = client.post("/user/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    for service in ("user", "order"):
        health = client.get(f"/{service}/health")
        assert health.status_code == 200 and health.json()["status"] in ("ok", "degraded"), health.text
    item = client.post("/item/create", headers=auth(token), json={"name": "Smoke tee", "category_id": 1,
                                                                 "price": "99.00"})
    assert item.status_code == 201, item.text
    sku = item.json()["skus"][0]["id"]
    stock = client.post("/stock/adjust", headers=auth(token), json={
        "sku": sku, "direction": "in", "type": "receipt", "quantity": "10", "reason": "smoke test"})
    assert stock.status_code in (200, 201), stock.text
    order = client.post("/order/create", headers=auth(token), json={"lines": [{"sku_id": sku, "quantity": 1}]})
    assert order.status_code == 201, order.text
    assert re.fullmatch(r"SO\d+", order.json()["number"])
