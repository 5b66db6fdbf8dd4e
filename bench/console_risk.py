"""What the console's risk signals cost per call, next to the console's existing order lookup (the baseline).

One risk call (``bot.risk_api.compute_report``: the customer's history, the shop-wide return counts behind the
median, the address uses at the customer's postcodes, the failed verifications) measured on the demo shop
(``shop.demo.seed``, ~40 customers and ~300 orders) and on larger generated shops (``shop.demo.histories``), each
against ``ShopReader.order`` (what ``GET /api/console/orders/{id}`` reads) in the same run. "cold" reads the
return counts every call (the median's cache expired), "warm" within ``MEDIAN_TTL_S``; "median only" is that
one shop-wide query. No HTTP and no Rasa: the service adds the same request handling to both.

    .venv/app/bin/python -m bench.console_risk [--sizes 2000x10 5000x20] [--calls 200] [--out /tmp/risk]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot import risk
from bot.risk_api import RiskService, compute_report
from bot.shopdb import ShopReader
from bot.types import Handoff
from shop.demo.histories import write_histories
from shop.demo.seed import open_seeded_store
from shop.read import open_reader

NOW = datetime(2025, 3, 12, 10, 0, 0, tzinfo=UTC)


def handoff(customer_id: str, order: str | None) -> Handoff:
    return Handoff(
        id="h-bench",
        conversation_id="bench",
        status="queued",
        reason="bench",
        agent_email=None,
        agent_name=None,
        created_at=NOW.timestamp(),
        claimed_at=None,
        closed_at=None,
        context={"customer": {"id": customer_id}, "verified_order": order},
        last_event_ts=0.0,
        language="en",
        mood=None,
    )


def timings(fn: Callable[[int], Any], calls: int) -> list[float]:
    fn(0)  # warm the page cache
    out = []
    for i in range(calls):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def row(label: str, ms: list[float]) -> str:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"  {label:<34} median {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms"


def measure(name: str, path: Path, customers: list[str], orders: list[str], calls: int) -> None:
    shop = ShopReader(path)
    warm = RiskService(shop, clock=lambda: 0.0)
    clock = [0.0]

    def cold_clock() -> float:
        clock[0] += 1e6  # every call past the cache's TTL
        return clock[0]

    cold = RiskService(shop, clock=cold_clock)
    n = len(customers)
    since = risk.window_start(NOW)
    print(f"{name}: {path.name}")
    print(row("baseline: order lookup", timings(lambda i: shop.order(orders[i % len(orders)]), calls)))
    for label, service in (("risk call, median cache warm", warm), ("risk call, median cache cold", cold)):
        ms = timings(
            lambda i, s=service: compute_report(  # type: ignore[misc]
                s, handoff(customers[i % n], None), ["sender:bench"], True, NOW.timestamp()
            ),
            calls,
        )
        print(row(label, ms))
    print(row("median only (shop-wide GROUP BY)", timings(lambda i: shop.returns_per_customer(since), calls)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["2000x10", "5000x20"], help="CUSTOMERSxORDERS_EACH")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("/tmp/risk/bench"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    demo = args.out / "demo-shop.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{demo}{suffix}").unlink(missing_ok=True)
    store = open_seeded_store(demo, clock=lambda: NOW)
    customers = sorted({line.customer_id for line in store.all_order_lines()})
    orders = [o["order_number"] for o in open_reader(demo).ledger_orders()]
    measure(
        f"demo shop ({len(customers)} customers with orders, {len(orders)} orders)",
        demo,
        customers,
        orders,
        args.calls,
    )

    for size in args.sizes:
        n_customers, each = (int(x) for x in size.split("x"))
        path = args.out / f"shop-{size}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        if n_customers > 9999:
            raise SystemExit(f"{size}: at most 9999 customers (ids C-0001 … C-9999)")
        write_histories(path, n_customers, each, now=NOW)
        customers = [f"C-{c:04d}" for c in range(1, n_customers + 1)]
        orders = [o["order_number"] for o in open_reader(path).ledger_orders()]
        measure(
            f"generated shop ({n_customers} customers, {n_customers * each} orders)",
            path,
            customers,
            orders,
            args.calls,
        )


if __name__ == "__main__":
    main()
