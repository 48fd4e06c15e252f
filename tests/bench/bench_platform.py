"""Platform overhead: what each layer of a request costs, on MariaDB + Redis + NATS.

Rows, for 1 and 16 clients over HTTP (keep-alive) to the local gateway:
- ``healthz``: the gateway alone (the server + routing, no function);
- ``user-me``: a whole authenticated read (template adapter, JWT, cached user state, one
  transaction, pydantic out);
and in the same process with no HTTP: ``dispatch(user-me)``, the shared layer alone.
"""
from __future__ import annotations

import time
from types import SimpleNamespace

import httpx

from tests.bench.common import Figures, Gateway, run_clients, use_database

REQUESTS = 400


def main() -> None:
    use_database("erp_bench_platform")
    from erp_common import auth
    from erp_common.http import dispatch
    from erp_common.identity.services import ensure_admin
    from erp_common.operations import REGISTRY

    ensure_admin("admin", "bench-admin-password")
    token = auth.issue_token(1, "admin", ["admin"], 1).token
    headers = {"Authorization": f"Bearer {token}"}
    rows: list[Figures] = []
    with Gateway() as gateway:
        for clients in (1, 16):
            for label, path in (("healthz (gateway only)", "/healthz"), ("user-me over HTTP", "/function/user-me")):
                def worker(_index: int, path: str = path):
                    http = httpx.Client(base_url=gateway.url, headers=headers, timeout=30)
                    return lambda _i: http.get(path).status_code == 200

                rows.append(run_clients(label, clients, REQUESTS // clients, worker))
    from erp_common.domains import load as load_operations

    load_operations()
    op = REGISTRY["user-me"]
    event = SimpleNamespace(body=b"", headers=headers, method="GET", query={}, path="/")
    for clients in (1, 16):
        rows.append(run_clients("dispatch(user-me), no HTTP", clients, REQUESTS // clients,
                                lambda _c: (lambda _i: dispatch(op, event)["statusCode"] == 200)))
    print(Figures.header())
    for row in rows:
        print(row.row())
    print(f"\n(measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")


if __name__ == "__main__":
    main()
