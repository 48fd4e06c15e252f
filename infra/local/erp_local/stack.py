"""Reading stack.yml the way faas-cli does: ${VAR:-default} substitution, then YAML."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")


def substitute(text: str, environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return _VAR.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), text)


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    lang: str
    handler: Path
    image: str
    annotations: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()

    @property
    def topics(self) -> list[str]:
        delimiter = self.annotations.get("topic_delimiter", ",")
        return [t.strip() for t in self.annotations.get("topic", "").split(delimiter) if t.strip()]

    @property
    def schedules(self) -> list[str]:
        return [s.strip() for s in self.annotations.get("schedule", "").split(";") if s.strip()]

    @property
    def service(self) -> str:
        return self.labels.get("erp.service", self.name.split("-", 1)[0])


@dataclass(frozen=True)
class Stack:
    path: Path
    functions: dict[str, FunctionSpec]
    raw: dict[str, Any]


def load_stack(path: str | Path) -> Stack:
    path = Path(path).resolve()
    raw = yaml.safe_load(substitute(path.read_text(encoding="utf-8"))) or {}
    if (raw.get("provider") or {}).get("name") != "openfaas":
        raise ValueError(f"{path}: provider.name must be 'openfaas'")
    functions = {}
    for name, spec in (raw.get("functions") or {}).items():
        spec = spec or {}
        functions[name] = FunctionSpec(
            name=name,
            lang=str(spec.get("lang", "")),
            handler=(path.parent / str(spec.get("handler", ""))).resolve(),
            image=str(spec.get("image", "")),
            annotations={k: str(v) for k, v in (spec.get("annotations") or {}).items()},
            labels={k: str(v) for k, v in (spec.get("labels") or {}).items()},
            environment={k: str(v) for k, v in (spec.get("environment") or {}).items()},
            secrets=tuple(spec.get("secrets") or ()),
        )
    return Stack(path, functions, raw)
