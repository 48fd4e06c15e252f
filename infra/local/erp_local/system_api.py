"""The OpenFaaS gateway's system API, as the local gateway serves it to faas-cli 0.18.

``GET /system/info`` (``faas-cli version``), ``GET /system/functions`` (``faas-cli list``) and
``GET /system/function/<name>`` (``faas-cli describe``) answer with the fields faas-provider's
``GatewayInfo`` and ``FunctionStatus`` carry; ``<name>.openfaas-fn`` names a function in the one
namespace there is (``faas-cli invoke`` calls ``/function/user-login.openfaas-fn``). Each
function's invocations are counted here. ``GET /health`` is the seed's gateway-wide health: every
service's, as ``/<service>/health`` reports it.
"""
from __future__ import annotations

import json
import platform
import subprocess
import threading
from datetime import datetime, timezone
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wrappers import Request, Response

from erp_common.errors import ErpError, MethodNotAllowed, NotFound

if TYPE_CHECKING:
    from .gateway import Gateway
    from .stack import FunctionSpec

NAMESPACE = "openfaas-fn"  # faas-netes' default; OpenFaaS CE has this one namespace only


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers,
                    mimetype="application/json")


def error_response(err: ErpError) -> Response:
    """The project's one error shape, from an ``erp_common.errors`` error."""
    return json_response(err.status, err.to_body(), err.headers)


def namespace_error(namespace: str) -> NotFound:
    return NotFound(f"no namespace {namespace!r}: this gateway has one, {NAMESPACE}", code="namespace_not_found",
                    details=[{"field": "namespace", "message": f"only {NAMESPACE} exists"}])


def resolve_name(qualified: str) -> tuple[str, Response | None]:
    """``user-login`` or ``user-login.openfaas-fn`` -> ``user-login``; another namespace -> a 404.

    Function names are DNS labels (no dots), so the first dot starts the namespace.
    """
    name, dot, namespace = qualified.partition(".")
    if dot and namespace != NAMESPACE:
        return name, error_response(namespace_error(namespace))
    return name, None


class InvocationCounter:
    """Invocations per function since the gateway started (request threads count concurrently)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, name: str) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + 1

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts.get(name, 0)


class SystemAPI:
    """``/system/*`` and ``/health`` for one gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.invocations = InvocationCounter()
        # Every function is "created" when the gateway loads it: faas-cli prints this for createdAt.
        self.created_at = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")

    # --- /system ------------------------------------------------------------------------

    def route(self, request: Request, parts: list[str]) -> Response:
        if parts in (["info"], ["functions"]) or (len(parts) == 2 and parts[0] == "function"):
            if request.method not in ("GET", "HEAD"):
                # Deploying, updating and deleting are faas-cli's other verbs here: refuse them plainly.
                return error_response(MethodNotAllowed(
                    f"{request.method} /system/{'/'.join(parts)}: this gateway serves the functions of its stack "
                    "file; change the file and restart erp run", headers={"Allow": "GET"}))
        if parts == ["info"]:
            return json_response(200, self.info())
        namespace = request.args.get("namespace")
        if namespace and namespace != NAMESPACE:
            return error_response(namespace_error(namespace))
        if parts == ["functions"]:
            return json_response(200, [self.function_status(s) for s in self.gateway.functions.values()])
        if len(parts) == 2 and parts[0] == "function":
            spec = self.gateway.functions.get(parts[1])
            if spec is None:
                return error_response(NotFound(f"no function called {parts[1]!r}", code="function_not_found",
                                               details=[{"field": "function", "message": "not deployed"}]))
            return json_response(200, self.function_status(spec))
        return error_response(NotFound(f"no route /system/{'/'.join(parts)} on this gateway",
                                       details=[{"field": "path", "message": "not a system route"}]))

    def info(self) -> dict[str, Any]:
        version = self._version
        return {
            "provider": {"provider": "erp-local", "orchestration": "in-process",
                         "version": {"sha": version["sha"], "release": version["release"]}},
            "version": version,
            "arch": platform.machine(),
        }

    def function_status(self, spec: FunctionSpec) -> dict[str, Any]:
        return {
            "name": spec.name,
            "image": spec.image,
            "namespace": NAMESPACE,
            "envProcess": self._fprocess(spec.lang),
            "replicas": 1,
            "availableReplicas": 1,
            "invocationCount": self.invocations.get(spec.name),
            "labels": spec.labels,
            "annotations": spec.annotations,
            "secrets": list(spec.secrets),
            "createdAt": self.created_at,
            "operations": list(self.gateway.operations.get(spec.name, ())),
        }

    @cached_property
    def _version(self) -> dict[str, str]:
        release = metadata.version("erp-local")
        sha, message = "unknown", ""
        try:  # the checkout's commit, when there is one (there is no image of the local gateway)
            out = subprocess.run(["git", "-C", str(Path(__file__).parent), "log", "-1", "--format=%H%n%s"],
                                 capture_output=True, text=True, timeout=5, check=True).stdout.split("\n", 1)
            sha, message = out[0].strip(), out[1].strip() if len(out) > 1 else ""
        except (OSError, subprocess.SubprocessError):
            pass
        return {"sha": sha, "release": release, "commit_message": message}

    def _fprocess(self, lang: str) -> str:
        return self._fprocesses.get(lang, "python index.py")

    @cached_property
    def _fprocesses(self) -> dict[str, str]:
        found = {}
        for lang in {spec.lang for spec in self.gateway.functions.values()}:
            path = self.gateway.templates_dir / lang / "template.yml"
            if path.exists():
                found[lang] = str((yaml.safe_load(path.read_text()) or {}).get("fprocess", "python index.py"))
        return found

    # --- health -------------------------------------------------------------------------

    def probe(self, name: str) -> tuple[int, dict[str, Any]]:
        """A function's readiness (``/_/ready``), asked directly: a health check is not an invocation."""
        environ = EnvironBuilder(path=f"/function/{name}/_/ready", method="GET").get_environ()
        environ["SCRIPT_NAME"], environ["PATH_INFO"] = f"/function/{name}", "/_/ready"
        app_iter, status, _ = run_wsgi_app(self.gateway.apps[name], environ)
        try:
            data = b"".join(app_iter)
        finally:
            if hasattr(app_iter, "close"):
                app_iter.close()
        try:
            body = json.loads(data)
        except ValueError:
            body = {}
        return int(status.split()[0]), body if isinstance(body, dict) else {}

    def service_health(self, service: str, members: list[str]) -> tuple[bool, dict[str, Any]]:
        """Failing (503) when a function is not ready; ``degraded`` (still 200: the functions serve)
        when one reports a backing service down, naming it (``"degraded": ["redis"]``)."""
        checks, degraded = {}, set()
        for name in members:
            status, body = self.probe(name)
            degraded.update(body.get("degraded", ()))
            checks[name] = body.get("status", "ok") if status == 200 else f"failing ({status})"
        healthy = all(v in ("ok", "degraded") for v in checks.values())
        result = {"service": service, "status": "degraded" if degraded or not healthy else "ok", "functions": checks}
        if degraded:
            result["degraded"] = sorted(degraded)
        return healthy, result

    def health(self) -> Response:
        services: dict[str, Any] = {}
        healthy = True
        for service in sorted({s.service for s in self.gateway.functions.values()}):
            ok, body = self.service_health(service, self.gateway._service_functions(service))
            healthy = healthy and ok
            services[service] = {"status": body["status"], "functions": body["functions"]}
        return json_response(200 if healthy else 503, {"status": "ok" if healthy else "degraded",
                                                       "services": services})
