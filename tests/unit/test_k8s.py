"""infra/k8s renders with ``kubectl kustomize`` for both overlays, and every rendered object validates
offline against the Kubernetes schemas of the version docs/deploy.md names (kubernetes-validate,
strict: an unknown field fails); the NATS connector's topics hold every subscribed topic, each seed
path has an ingress rule reaching its function, every container has requests and limits, the
network policies let only functions reach the data services, and no Secret is rendered."""
from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = {"pro": ROOT / "stack.yml", "ce": ROOT / "stack.ce.yml"}
KUBERNETES = re.search(r"Kubernetes (1\.\d+)", (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")).group(1)
WORKLOADS = {"Deployment", "StatefulSet", "Job", "CronJob", "DaemonSet"}

needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (its kustomize) is not installed")


@cache
def rendered(overlay: str) -> list[dict]:
    out = subprocess.run(["kubectl", "kustomize", str(ROOT / "infra" / "k8s" / "overlays" / overlay)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def _of(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def _pod_spec(obj: dict) -> dict:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def _stack(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["functions"]


@needs_kubectl
@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_rendered_object_validates_against_the_kubernetes_schemas(overlay):
    objects = rendered(overlay)
    assert {"StatefulSet", "Deployment", "Job", "CronJob", "NetworkPolicy", "Ingress", "ConfigMap"} <= \
        {o["kind"] for o in objects}
    problems = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}")
    assert not problems, "\n".join(problems)


def test_the_validator_does_refuse_what_is_wrong():
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
           "spec": {"replicas": "one", "selector": {}, "template": {"spec": {"containers": []}}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, KUBERNETES, strict=True)
    unknown_field = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"portz": []}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown_field, KUBERNETES, strict=True)


@needs_kubectl
@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_the_nats_connector_subscribes_to_every_topic_a_function_subscribes_to(overlay):
    objects = rendered(overlay)
    connector = next(o for o in _of(objects, "Deployment") if o["metadata"]["name"] == "erp-nats-connector")
    ref = _pod_spec(connector)["containers"][0]["envFrom"][0]["configMapRef"]["name"]
    config = next(o for o in _of(objects, "ConfigMap") if o["metadata"]["name"] == ref)
    topics = set(config["data"]["topics"].split(","))
    subscribed = set()
    for spec in _stack(OVERLAYS[overlay]).values():
        for topic in str((spec.get("annotations") or {}).get("topic", "")).split(","):
            if topic and topic != "cron-function":
                subscribed.add(topic)
    assert subscribed and subscribed <= topics


def _rewrite(target: str, match: re.Match) -> str:
    return re.sub(r"\$(\d)", lambda m: match.group(int(m.group(1))) or "", target)


def _route(ingresses: list[dict], path: str) -> str | None:
    """Where ingress-nginx sends ``path``: the longest matching regex path (as it orders them)."""
    candidates = []
    for ing in ingresses:
        target = ing["metadata"]["annotations"]["nginx.ingress.kubernetes.io/rewrite-target"]
        for rule in ing["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                match = re.match(p["path"], path, re.IGNORECASE)
                if match:
                    candidates.append((len(p["path"]), _rewrite(target, match)))
    return max(candidates)[1] if candidates else None


@needs_kubectl
@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_seed_path_has_an_ingress_rule_reaching_its_function(overlay):
    from erp_local.opsgen import seed_paths
    from erp_local.stackgen import declared

    ingresses = _of(rendered(overlay), "Ingress")
    functions = _stack(OVERLAYS[overlay])
    for ing in ingresses:
        assert ing["metadata"]["namespace"] == "openfaas"  # beside the gateway Service it sends to
        backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
        assert backend == {"name": "gateway", "port": {"number": 8080}}
    for service, ops in seed_paths(declared()).items():
        for op in ops:
            function = op.name if overlay == "pro" else service
            suffix = "" if overlay == "pro" else f"/{op.short_name}"
            assert function in functions
            assert _route(ingresses, f"/{service}/{op.short_name}") == f"/function/{function}{suffix}"
            assert _route(ingresses, f"/{service}/{op.short_name}/7") == f"/function/{function}{suffix}/7"
        health = _route(ingresses, f"/{service}/health")
        assert health is not None and health.endswith("/_/ready"), (service, health)
        assert health.split("/")[2] in functions
    assert _route(ingresses, "/nothing/here") is None


@needs_kubectl
@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_container_has_resource_requests_and_limits(overlay):
    for obj in rendered(overlay):
        if obj["kind"] not in WORKLOADS:
            continue
        for container in _pod_spec(obj)["containers"]:
            resources = container.get("resources") or {}
            where = f"{obj['kind']}/{obj['metadata']['name']}/{container['name']}"
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), where
            assert "memory" in resources.get("limits", {}), where


@needs_kubectl
@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_only_functions_reach_mysql_redis_and_nats(overlay):
    policies = [p for p in _of(rendered(overlay), "NetworkPolicy") if p["metadata"]["namespace"] == "erp"]
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and not p["spec"].get("ingress")]
    assert deny and "Ingress" in deny[0]["spec"]["policyTypes"]
    allowed = {"mysql": ({"kubernetes.io/metadata.name": "openfaas-fn"}, 3306),
               "redis": ({"kubernetes.io/metadata.name": "openfaas-fn"}, 6379),
               "nats": ({"kubernetes.io/metadata.name": "openfaas-fn"}, 4222)}
    for name, (functions_ns, port) in allowed.items():
        policy = next(p for p in policies if p["spec"]["podSelector"].get("matchLabels", {}).get(
            "app.kubernetes.io/name") == name)
        (rule,) = policy["spec"]["ingress"]
        assert [p["port"] for p in rule["ports"]] == [port]
        sources = rule["from"]
        assert {"namespaceSelector": {"matchLabels": functions_ns}} in sources
        for source in sources:  # nothing open to every namespace or every pod
            assert source.get("namespaceSelector", {}).get("matchLabels") or source.get("podSelector", {}).get(
                "matchLabels"), source


@needs_kubectl
@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_no_secret_is_rendered_and_the_ones_used_are_documented(overlay):
    objects = rendered(overlay)
    assert not _of(objects, "Secret")
    used: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            if "secretName" in node:
                used.add(node["secretName"])
            if "secretKeyRef" in node:
                used.add(node["secretKeyRef"]["name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for obj in objects:
        if obj["kind"] in WORKLOADS:
            walk(_pod_spec(obj))
    deploy = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert used >= {"erp-mysql", "erp-redis", "erp-app", "basic-auth"}
    for secret in used:
        assert secret in deploy, f"docs/deploy.md does not say how to create the secret {secret}"


@needs_kubectl
def test_the_jobs_get_the_functions_settings_from_env_yml():
    objects = rendered("pro")
    env = yaml.safe_load((ROOT / "env.yml").read_text(encoding="utf-8"))["environment"]
    config = next(o for o in _of(objects, "ConfigMap") if o["metadata"]["name"].startswith("erp-env-"))
    assert config["data"]["DATABASE_URL"] == env["DATABASE_URL"]
    for name in ("erp-migrate", "erp-backup"):
        job = next(o for o in objects if o["metadata"]["name"] == name)
        container = _pod_spec(job)["containers"][0]
        assert container["envFrom"][0]["configMapRef"]["name"] == config["metadata"]["name"]
        assert _pod_spec(job)["volumes"][0]["secret"]["secretName"] == "erp-app"
    migrate = next(o for o in objects if o["metadata"]["name"] == "erp-migrate")
    assert _pod_spec(migrate)["containers"][0]["command"][-1] == "erp migrate && erp create-admin"
    backup = next(o for o in objects if o["metadata"]["name"] == "erp-backup")
    assert "--keep-days" in _pod_spec(backup)["containers"][0]["command"]
