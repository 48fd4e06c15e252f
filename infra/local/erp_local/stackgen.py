"""Writing the deployment files from the declarations (``erp stack`` / ``make stack``).

Every declared operation becomes a function of ``stack.yml`` with its handler folder
(``functions/<name>/handler.py``: a three-line declaration); ``stack.ce.yml`` packs the same
operations for OpenFaaS CE / faasd CE (at most 15 functions): one function per seed service
(its HTTP operations and its scheduled jobs, which the cron connector runs through one
one-minute schedule), and one ``events`` function subscribed to every topic a consumer declares,
dispatching on ``X-Topic``. The README's function tables (between ``<!-- functions:<service> -->``
markers) and ``docs/functions.md`` are written from the same declarations. ``--check`` writes
nothing and lists what differs; CI fails when anything does.
"""
from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from erp_common import domains
from erp_common.operations import CONNECTOR, PUBLIC, REGISTRY, SIGNED_IN, Operation

from . import opsgen

TEMPLATE = "python3-http-erp"
CE_MAX_FUNCTIONS = 15
EVENTS_FUNCTION = "events"
IMAGE = "${REGISTRY:-ghcr.io/example-erp}/erp-%s:${TAG:-0.1.0}"
# The scaling class of a declaration -> the labels it gets in stack.yml (OpenFaaS Standard/Enterprise).
SCALE_ANCHORS = {"api": "scale-api", "hot": "scale-hot", "background": "scale-background"}
CE_LABELS = '{ com.openfaas.scale.min: "1", com.openfaas.scale.max: "%s", erp.service: %s }'
# The first services' titles in the README, in the order they appear there; a new service is titled
# after its domain and follows them, in the order of the domains' dependencies.
SERVICE_TITLES = {"user": "Identity", "item": "Catalog", "stock": "Inventory", "order": "Sales orders",
                  "job": "Jobs"}
# Memory per function (Kubernetes quantities), from bench_coldstart (docs/benchmarks.md): 66-71 MB
# resident after the first call, 85 MB at most (user-login's argon2 check, 19 MiB a check). The
# request covers a function at rest with room for its pools; the limit leaves room for four request
# threads at work (four sign-ins at once: ~85 + 3 x 19 MB). A declaration may raise its limit.
MEMORY_REQUEST, MEMORY_LIMIT = "96Mi", "192Mi"
# faas-cli honours the cron connector's annotations only on the function they are set on.
CRON = 'topic: cron-function\n      schedule: "%s"'


@dataclass(frozen=True)
class Pack:
    """One function of the CE packing: the operations it serves and how it is triggered."""

    name: str
    operations: tuple[Operation, ...]

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(sorted({op.domain for op in self.operations}))

    @property
    def topics(self) -> list[str]:
        return sorted({op.topic for op in self.operations if op.topic})

    @property
    def scheduled(self) -> bool:
        return any(op.schedule for op in self.operations)


def declared() -> list[Operation]:
    """Every declared operation of every domain, in a stable order: service, the domains' dependency
    order, then the order each domain declares them in (not the order a process happened to import
    the domains in: a process that loaded sales before membership must generate the same files)."""
    domains.load()
    # Within a service, the domains in dependency order, then each domain's own declaration order:
    # not the order the process happened to import the domains in (a service such as ``job`` holds
    # operations of several domains, and a process that loaded one of them first would reorder it).
    rank = {d.name: i for i, d in enumerate(domains.ordered())}
    position = {name: i for i, name in enumerate(REGISTRY)}
    return sorted((op for op in REGISTRY.values() if op.domain in rank),
                  key=lambda op: (_service_rank(op.service), rank[op.domain], position[op.name]))


def _service_rank(service: str) -> tuple[int, str]:
    order = list(SERVICE_TITLES)
    return (order.index(service), "") if service in order else (len(order), "")


def _title(service: str, ops: list[Operation]) -> str:
    return SERVICE_TITLES.get(service) or ops[0].domain.capitalize()


def ce_packs(ops: Iterable[Operation]) -> list[Pack]:
    """The CE packing of these operations: one function per service, one ``events`` function."""
    by_service: dict[str, list[Operation]] = {}
    consumers: list[Operation] = []
    for op in ops:
        (consumers if op.topic else by_service.setdefault(op.service, [])).append(op)
    packs = [Pack(service, tuple(members)) for service, members in by_service.items()]
    if consumers:
        packs.append(Pack(EVENTS_FUNCTION, tuple(consumers)))
    return packs


# --- the files ----------------------------------------------------------------------------

def _function_handler(op: Operation) -> str:
    return (f'"""{op.name}: {op.summary}."""\n'
            "from erp_common.http import function_handler\n\n"
            f'handle = function_handler("{op.domain}", "{op.name}")\n')


def _pack_handler(pack: Pack) -> str:
    if len(pack.operations) == 1 and pack.operations[0].name == pack.name:
        # A service of one operation named as the service (the console) is already one function:
        # the CE packing serves it as stack.yml does, at every path under /function/<name>/.
        return _function_handler(pack.operations[0])
    domain_list = ", ".join(f'"{d}"' for d in pack.domains) + ("," if len(pack.domains) == 1 else "")
    if pack.name == EVENTS_FUNCTION:
        return ('"""The events function (stack.ce.yml): every event consumer, chosen by the X-Topic the NATS '
                'connector sends."""\n'
                "from erp_common.http import events_handler\n\n"
                f"handle = events_handler(({domain_list}))\n")
    what = ";\nits scheduled jobs run when they are due (the cron connector calls it every minute)" \
        if pack.scheduled else ""
    return (f'"""The {pack.name} pack (stack.ce.yml): every {pack.name} operation at /function/{pack.name}/'
            f'<operation>{what}."""\n'
            "from erp_common.http import pack_handler\n\n"
            f'handle = pack_handler("{pack.name}", ({domain_list}))\n')


def _requirements(name: str) -> str:
    return f"# {name} needs nothing beyond the shared layer.\n"


STACK_HEAD = """\
# GENERATED by `erp stack` (make stack) from the operation declarations in shared/erp_common/<domain>/
# operations.py: edit those, not this file. CI fails when this file differs from what they give.
#
# Every ERP function, one per business operation, for OpenFaaS Standard/Enterprise or Edge.
# (OpenFaaS CE / faasd CE: use stack.ce.yml, which packs the same operations into <= 15 functions.)
# Deploy:  faas-cli up -f stack.yml      (secrets first: see README, "Deploying on OpenFaaS")
# Locally: make run                       (the local gateway reads this same file)
version: 1.0
provider:
  name: openfaas
  gateway: ${OPENFAAS_URL:-http://127.0.0.1:8080}

configuration:
  templates:
    - name: python3-http-erp        # ours, in ./templates (./template is a link to it)
  copy:
    - ./shared                      # the shared layer, at function/shared in every image

# Shared pieces (faas-cli ignores unknown top-level keys; YAML anchors are merged below).
x-env: &env
  environment_file:
    - env.yml
x-secrets: &secrets
  secrets:
    - erp-jwt-secret
    - erp-db-password
    - erp-redis-password
x-scale-api: &scale-api             # request/response functions: scale on requests per second
  com.openfaas.scale.type: rps
  com.openfaas.scale.target: "50"
  com.openfaas.scale.min: "1"
  com.openfaas.scale.max: "10"
x-scale-hot: &scale-hot             # the busiest request functions (sign-in): more replicas
  com.openfaas.scale.type: rps
  com.openfaas.scale.target: "50"
  com.openfaas.scale.min: "1"
  com.openfaas.scale.max: "20"
x-scale-background: &scale-background   # scheduled and event functions: one replica is enough
  com.openfaas.scale.min: "1"
  com.openfaas.scale.max: "1"

functions:
"""

CE_HEAD = """\
# GENERATED by `erp stack` (make stack) from the operation declarations: edit those, not this file.
#
# The same operations as stack.yml packed for OpenFaaS CE / faasd CE: at most 15 functions, no Pro
# autoscaling labels (CE rejects com.openfaas.scale.type/target), one topic annotation per function.
# Each seed service is one function serving /function/<service>/<operation>[/...] (e.g.
# /function/user/login, /function/user/get/7); a service with scheduled jobs is called by the cron
# connector every minute with no path and runs each job that is due by its own cron expression;
# the events function is subscribed to every topic a consumer declares and dispatches on X-Topic.
# CE is for personal use or a 60-day commercial trial: a shop running on it needs a licence.
# Deploy: faas-cli up -f stack.ce.yml
version: 1.0
provider:
  name: openfaas
  gateway: ${OPENFAAS_URL:-http://127.0.0.1:8080}

configuration:
  templates:
    - name: python3-http-erp
  copy:
    - ./shared

x-env: &env
  environment_file:
    - env.yml
x-secrets: &secrets
  secrets:
    - erp-jwt-secret
    - erp-db-password
    - erp-redis-password

functions:
"""


def stack_yml(ops: list[Operation]) -> str:
    out, domain = [STACK_HEAD], None
    for op in ops:
        if op.domain != domain:
            domain = op.domain
            title = f"  # --- {domain} "
            out.append(("\n" if out[-1] != STACK_HEAD else "") + title + "-" * max(3, 92 - len(title)) + "\n")
        out.append(
            f"  {op.name}:\n"
            f"    lang: {TEMPLATE}\n"
            f"    handler: ./functions/{op.name}\n"
            f"    image: {IMAGE % op.name}\n"
            f"    <<: [*env, *secrets]\n"
            f"    labels: {{ <<: *{SCALE_ANCHORS[op.scale]}, erp.service: {op.service}, erp.domain: {op.domain} }}\n"
            f"    requests: {{ memory: {MEMORY_REQUEST} }}\n"
            f"    limits: {{ memory: {op.memory_limit or MEMORY_LIMIT} }}\n")
        if op.schedule:
            out.append(f"    annotations:\n      {CRON % op.schedule}\n")
        elif op.topic:
            out.append(f"    annotations:\n      topic: {op.topic}\n")
    return "".join(out)


def _pack_limit(pack: Pack) -> str:
    """The largest limit among the pack's operations."""
    return max((op.memory_limit or MEMORY_LIMIT for op in pack.operations), key=lambda q: int(q[:-2]))


def stack_ce_yml(packs: list[Pack]) -> str:
    out = [CE_HEAD]
    for pack in packs:
        background = pack.name == EVENTS_FUNCTION or pack.scheduled
        service = "events" if pack.name == EVENTS_FUNCTION else pack.name
        out.append(
            f"  {pack.name}:\n"
            f"    lang: {TEMPLATE}\n"
            f"    handler: ./packs/{pack.name}\n"
            f"    image: {IMAGE % pack.name}\n"
            f"    <<: [*env, *secrets]\n"
            f"    labels: {CE_LABELS % ('2' if background else '5', service)}\n"
            f"    requests: {{ memory: {MEMORY_REQUEST} }}\n"
            f"    limits: {{ memory: {_pack_limit(pack)} }}\n")
        if pack.name == EVENTS_FUNCTION:
            out.append(f'    annotations:\n      topic: "{",".join(pack.topics)}"\n')
        elif pack.scheduled:
            out.append(f"    annotations:\n      {CRON % '* * * * *'}\n")
    return "".join(out)


# --- the function reference --------------------------------------------------------------

def _access(op: Operation) -> str:
    if op.roles == PUBLIC:
        return "anyone"
    if op.roles == SIGNED_IN:
        return "signed in"
    if op.roles == CONNECTOR:
        return "its connector"
    return ", ".join(sorted(op.roles))


def _call(op: Operation) -> str:
    if op.topic:
        return f"event `{op.topic}` (NATS connector)"
    if op.schedule:
        return f"schedule `{op.schedule}` (cron connector)"
    path = f"/function/{op.name}"
    if op.path:
        path += op.path
    if op.readonly and op.input is not None:
        in_path = set(op.path_regex.groupindex) if op.path_regex is not None else set()
        paging = ("page", "page_size")  # the page goes last, as people write it
        query = [name for name in op.input.model_fields if name not in in_path and name not in paging]
        query += [name for name in paging if name in op.input.model_fields]
        if query:
            path += "?" + "&".join(f"{name}=" for name in query)
    return f"`{' '.join(op.methods)} {path}`"


def function_table(ops: Iterable[Operation]) -> str:
    rows = ["| function | method and path | roles | what it does |", "|---|---|---|---|"]
    for op in ops:
        extra = "; `Idempotency-Key`" if op.idempotent else ""
        rows.append(f"| `{op.name}` | {_call(op)} | {_access(op)} | {op.summary}{extra} |")
    return "\n".join(rows) + "\n"


def _services(ops: list[Operation]) -> dict[str, list[Operation]]:
    grouped: dict[str, list[Operation]] = {}
    for op in ops:
        grouped.setdefault(op.service, []).append(op)
    return grouped


def reference_md(ops: list[Operation], packs: list[Pack]) -> str:
    out = ["# Function reference\n",
           "GENERATED by `erp stack` (make stack) from the operation declarations; the README's tables are the "
           "same. Each function's input and output schemas are in `/docs` (Swagger UI) and its events in "
           "`/docs/asyncapi.json`.\n"]
    for service, members in _services(ops).items():
        title = _title(service, members)
        out.append(f"\n## {title} (service `{service}`)\n\n{function_table(members)}")
    out.append(f"\n## The CE packing (`stack.ce.yml`, {len(packs)} of at most {CE_MAX_FUNCTIONS} functions)\n\n"
               "| function | serves |\n|---|---|\n")
    for pack in packs:
        out.append(f"| `{pack.name}` | {', '.join(f'`{op.name}`' for op in pack.operations)} |\n")
    return "".join(out)


def readme_with_tables(readme: str, ops: list[Operation]) -> str:
    """The README with the table of each service between its markers rewritten."""
    for service, members in _services(ops).items():
        start, end = f"<!-- functions:{service} -->\n", f"<!-- /functions:{service} -->"
        if start not in readme:
            title = _title(service, members)
            anchor = "\n## Configuration"
            section = (f"### {title} (service `{service}`)\n\n{start}{end}\n\n")
            readme = readme.replace(anchor, "\n" + section.rstrip("\n") + "\n" + anchor, 1) if anchor in readme \
                else readme + "\n" + section
        before, rest = readme.split(start, 1)
        _, after = rest.split(end, 1)
        readme = before + start + function_table(members) + end + after
    return readme


# --- writing -------------------------------------------------------------------------------

def expected_files(root: Path) -> dict[Path, str]:
    """Every generated file and its content."""
    ops = declared()
    packs = ce_packs(ops)
    if len(packs) > CE_MAX_FUNCTIONS:
        raise ValueError(f"the CE packing needs {len(packs)} functions, more than {CE_MAX_FUNCTIONS}")
    files: dict[Path, str] = {root / "stack.yml": stack_yml(ops), root / "stack.ce.yml": stack_ce_yml(packs),
                              root / "docs" / "functions.md": reference_md(ops, packs)}
    for op in ops:
        files[root / "functions" / op.name / "handler.py"] = _function_handler(op)
        files[root / "functions" / op.name / "requirements.txt"] = _requirements(op.name)
    for pack in packs:
        files[root / "packs" / pack.name / "handler.py"] = _pack_handler(pack)
        files[root / "packs" / pack.name / "requirements.txt"] = _requirements(pack.name)
    files[root / "infra" / "monitoring" / "job-alerts.yml"] = opsgen.job_alert_rules(ops)
    files.update(opsgen.k8s_files(root, ops))
    readme = root / "README.md"
    files[readme] = readme_with_tables(readme.read_text(encoding="utf-8"), ops)
    return files


def _stale_folders(root: Path, files: dict[Path, str]) -> list[Path]:
    wanted = {path.parent for path in files}
    stale = []
    for kind in ("functions", "packs"):
        folder = root / kind
        if folder.is_dir():
            stale += [p for p in sorted(folder.iterdir()) if p.is_dir() and p not in wanted]
    return stale


def write_all(root: Path, *, check: bool = False) -> list[Path]:
    """Write every generated file that differs (or, with ``check``, only list them); remove stale folders."""
    files = expected_files(root)
    changed = [path for path, text in files.items()
               if not path.exists() or path.read_text(encoding="utf-8") != text]
    stale = _stale_folders(root, files)
    if not check:
        for path in changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path], encoding="utf-8")
        for folder in stale:
            shutil.rmtree(folder)
    return [p.relative_to(root) for p in changed + stale]
