"""Gateway CPU per order through each MySQL driver: mysqlclient (C) against PyMySQL, in one run.

Two ``erp run`` processes (16 request threads each) serve one MariaDB database, one connecting
through each driver (``ERP_DB_DRIVER``); the same ``order-create`` clients as ``bench_orders``
are sent to each in turn, in ``ERP_BENCH_ROUNDS`` (default 6) short rounds whose order flips every
round, so a drift of this shared machine weighs on both alike. A round reads the CPU time (user +
system) of the gateway process it served and of MariaDB; the figure to read is the ratio of the
two drivers' gateway CPU per order, round by round (absolute times move with the machine's load).
``ERP_BENCH_SECONDS`` (default 6) is roughly how long each driver's rounds last in all, per row.
"""
from __future__ import annotations

import os
import statistics

from tests.bench.bench_orders import GatewayProcess, _requests_per_client, _seed, run_full
from tests.bench.common import CpuMeter, Figures, pids_named, use_database

CLIENTS = (1, 16)
DRIVERS = ("pymysql", "mysqlclient")


def main() -> None:
    from erp_common.db import mysqlclient_installed

    if not mysqlclient_installed():
        print("mysqlclient is not installed here (make install builds it where libmariadb-dev is): "
              "nothing to compare")
        return
    use_database("erp_bench_drivers")
    sku_ids, tokens, _ = _seed()
    rounds = int(os.environ.get("ERP_BENCH_ROUNDS", "6"))
    results: list[tuple[int, dict[str, list[tuple[float, float, Figures]]]]] = []
    with GatewayProcess(threads=16, env={"ERP_DB_DRIVER": "pymysql"}) as first, \
            GatewayProcess(threads=16, env={"ERP_DB_DRIVER": "mysqlclient"}) as second:
        gateways = {"pymysql": first, "mysqlclient": second}
        print(f"two gateways, one per driver; {rounds} alternating rounds per row")
        for gateway in gateways.values():
            run_full(gateway.url, sku_ids, tokens, 4, 50)  # warm-up: imports, pools, caches
            run_full(gateway.url, sku_ids, tokens, 16, 10)
        for clients in CLIENTS:
            per_client = _requests_per_client(clients, 150 * min(clients, 2) / rounds)
            measured: dict[str, list[tuple[float, float, Figures]]] = {driver: [] for driver in DRIVERS}
            for number in range(rounds):
                for driver in DRIVERS if number % 2 == 0 else DRIVERS[::-1]:
                    meter = CpuMeter({"gateway": gateways[driver].pids, "MariaDB": lambda: pids_named("mariadbd")})
                    with meter:
                        figures = run_full(gateways[driver].url, sku_ids, tokens, clients, per_client, driver)
                    ms = meter.per_request_ms(figures.requests)
                    measured[driver].append((ms["gateway"], ms["MariaDB"], figures))
            results.append((clients, measured))

    print("\n| clients | driver | orders | errors | orders/s | p50 ms | p99 ms | gateway CPU ms/order "
          "(median; rounds' range) | MariaDB CPU ms/order |\n|---|---|---|---|---|---|---|---|---|")
    for clients, measured in results:
        for driver in DRIVERS:
            gateway_ms = [g for g, _, _ in measured[driver]]
            figures = Figures.merge([f for _, _, f in measured[driver]])
            print(f"| {clients} | {driver} | {figures.requests} | {figures.errors} | {figures.throughput:,.0f} | "
                  f"{figures.percentile(50):.1f} | {figures.percentile(99):.1f} | "
                  f"{statistics.median(gateway_ms):.2f} ({min(gateway_ms):.2f}-{max(gateway_ms):.2f}) | "
                  f"{statistics.median(m for _, m, _ in measured[driver]):.2f} |")
    print("\nmysqlclient / PyMySQL, gateway CPU per order, round by round:")
    for clients, measured in results:
        ratios = [c[0] / p[0] for p, c in zip(measured["pymysql"], measured["mysqlclient"], strict=True) if p[0]]
        print(f"- {clients} clients: median {statistics.median(ratios):.2f} "
              f"(rounds {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
