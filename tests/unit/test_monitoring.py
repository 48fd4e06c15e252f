"""The monitoring files load as what reads them expects: the Grafana dashboard as a dashboard with
the fields Grafana needs, the alert rules as Prometheus rule groups (promtool is not to be had here:
a structure check), and both query only series that the code exports."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "infra" / "monitoring"
RULE_FILES = sorted(MONITORING.glob("*alerts.yml"))
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
SERIES = re.compile(r"\b(?:gateway|erp)_[a-z0-9_]+\b")


@pytest.fixture(scope="module")
def exported() -> set[str]:
    """Every series name the process can export (the domains loaded: their probes registered)."""
    from erp_common import domains, metrics

    domains.load()
    names: set[str] = set()
    for family in metrics.REGISTRY.collect():
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(family.type, [""])
        names.update(family.name + suffix for suffix in suffixes)
    return names


def _balanced(expr: str) -> bool:
    depth = {"(": 0, "{": 0, "[": 0}
    closing = {")": "(", "}": "{", "]": "["}
    for ch in re.sub(r'"[^"]*"', "", expr):
        if ch in depth:
            depth[ch] += 1
        elif ch in closing:
            depth[closing[ch]] -= 1
            if depth[closing[ch]] < 0:
                return False
    return not any(depth.values())


def test_the_dashboard_is_grafana_json(exported):
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text(encoding="utf-8"))
    assert dashboard["title"] and dashboard["uid"] and isinstance(dashboard["schemaVersion"], int)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and ids
    for panel in dashboard["panels"]:
        assert panel["type"] in {"timeseries", "stat"} and panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}"
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in "hwxy") and grid["x"] + grid["w"] <= 24
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs))
        for target in panel["targets"]:
            assert _balanced(target["expr"]), target["expr"]
            unknown = set(SERIES.findall(target["expr"])) - exported
            assert not unknown, f"{panel['title']}: {unknown} is exported by nothing"


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_the_alert_rules_are_prometheus_rule_groups(path, exported):
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(document) == {"groups"}
    names = [g["name"] for g in document["groups"]]
    assert len(names) == len(set(names))
    for group in document["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"} and group["rules"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rule["alert"])
            assert isinstance(rule["expr"], str) and _balanced(rule["expr"])
            assert "for" not in rule or DURATION.match(rule["for"])
            assert rule["labels"]["severity"] in {"warning", "critical"}
            assert rule["annotations"]["summary"]
            assert all(re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", k) for k in rule["labels"])
            unknown = set(SERIES.findall(rule["expr"])) - exported
            assert not unknown, f"{rule['alert']}: {unknown} is exported by nothing"


def test_the_rules_cover_errors_the_outbox_and_every_scheduled_job():
    from erp_common import domains
    from erp_common.operations import REGISTRY

    domains.load()
    alerts = {}
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                alerts.setdefault(rule["alert"], []).append(rule)
    assert {"ErpFunction5xxRate", "ErpOutboxLag", "ErpJobDidNotRun"} <= set(alerts)
    jobs = {op.name for op in REGISTRY.values() if op.schedule}
    assert {r["labels"]["job_name"] for r in alerts["ErpJobDidNotRun"]} == jobs


def test_the_scrape_jobs_are_prometheus_scrape_configs():
    document = yaml.safe_load((MONITORING / "prometheus-scrape.yml").read_text(encoding="utf-8"))
    names = [job["job_name"] for job in document["scrape_configs"]]
    assert "erp-functions" in names and len(names) == len(set(names))
    for job in document["scrape_configs"]:
        assert set(job) <= {"job_name", "metrics_path", "kubernetes_sd_configs", "relabel_configs", "scheme"}
        for relabel in job.get("relabel_configs", []):
            re.compile(relabel.get("regex", ".*"))
            assert relabel.get("action", "replace") in {"keep", "drop", "replace"}


def test_a_schedule_period_is_its_longest_gap():
    from erp_local.opsgen import schedule_period

    assert schedule_period("* * * * *") == 60
    assert schedule_period("17 * * * *") == 3600
    assert schedule_period("0 2 * * *") == 86400
    assert schedule_period("0 2 * * 1-5") == 3 * 86400

