"""Deterministic demo shop: products from the catalog CSV, ~40 customers, ~300 orders in every state.

    python -m shop.demo.seed [--db var/shop.db] [--force] [--now 2025-01-31T12:00:00Z]

Idempotent: an already-seeded DB is left alone unless ``--force`` (which deletes and rebuilds it). All
dates are relative to the store clock's "now", so the documented demo orders (docs/demo-shop.md) keep
their meaning on any day: SD-100004 is always inside the return window, SD-100005 always outside.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import random
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shop import policy
from shop.demo.catalog_gen import DEFAULT_OUT as DEFAULT_CATALOG
from shop.demo.catalog_gen import bundle_product_ids, product_ids
from shop.demo.demo_data import (
    CARRIERS,
    CITIES,
    DEMO_CUSTOMERS,
    DEMO_ORDERS,
    DEMO_REFUND_ID,
    DEMO_RETURN_ID,
    FIRST_NAMES,
    LAST_NAMES,
    N_CUSTOMERS,
    N_GENERATED_ORDERS,
    PAYMENT_METHODS,
    RETURN_REASONS,
    SEED,
    STREETS,
)
from shop.model import Clock
from shop.orders import OnChangedHook, OnCreatedHook
from shop.sqlite import SqliteOrderStore, to_db, utc_now

logger = logging.getLogger(__name__)

__all__ = ["DEMO_REFUND_ID", "DEMO_RETURN_ID", "open_seeded_store", "seed"]

REPO_ROOT = Path(__file__).resolve().parents[2]


def invoice_id_for(order_number: str) -> str:
    """The seed's one invoice per paid order: SD-100008 → INV-400008."""
    return f"INV-4{order_number[-5:]}"


def load_catalog(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _price_minor(text: str) -> int:
    major, _, minor = text.partition(".")
    return int(major) * 100 + int((minor + "00")[:2])


class _Seeder:
    def __init__(
        self, conn: sqlite3.Connection, now: datetime, rng: random.Random, prices: dict[str, tuple[str, int]]
    ):
        self.conn = conn
        self.now = now
        self.rng = rng
        self.prices = prices  # id -> (title, price_minor)

    def ago(self, days: float | None) -> datetime | None:
        return None if days is None else self.now - timedelta(days=days)

    def insert_order(
        self,
        number: str,
        customer: sqlite3.Row,
        lines: Sequence[tuple[str, int]],
        status: str,
        *,
        created: datetime,
        paid: datetime | None,
        packed: datetime | None,
        shipped: datetime | None,
        delivered: datetime | None,
        cancelled: datetime | None,
        carrier: str | None = None,
        tracking: str | None = None,
        eta: datetime | None = None,
    ) -> None:
        subtotal = sum(self.prices[pid][1] * qty for pid, qty in lines)
        shipping = policy.shipping_fee_minor(subtotal)
        if shipped is not None and carrier is None:
            carrier = self.rng.choice(sorted(CARRIERS))
        if carrier is not None and tracking is None:
            tracking = f"{CARRIERS[carrier]}{self.rng.randrange(10**9, 10**10)}"
        if shipped is not None and eta is None:
            eta = shipped + timedelta(days=3)
        self.conn.execute(
            "INSERT INTO orders (number, customer_id, status, subtotal_minor, shipping_minor, total_minor, currency,"
            " payment_method, ship_name, ship_street, ship_postcode, ship_city, ship_country, created_at, paid_at,"
            " packed_at, shipped_at, delivered_at, cancelled_at, carrier, tracking_number, tracking_url,"
            " estimated_delivery) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                number,
                customer["id"],
                status,
                subtotal,
                shipping,
                subtotal + shipping,
                policy.CURRENCY,
                PAYMENT_METHODS[int(customer["id"][2:]) % len(PAYMENT_METHODS)],
                customer["name"],
                customer["street"],
                customer["postcode"],
                customer["city"],
                customer["country"],
                to_db(created),
                to_db(paid),
                to_db(packed),
                to_db(shipped),
                to_db(delivered),
                to_db(cancelled),
                carrier if shipped else None,
                tracking if shipped else None,
                f"https://track.example.com/{carrier.lower()}/{tracking}" if shipped and carrier else None,
                eta.date().isoformat() if shipped and eta else None,
            ),
        )
        for line_no, (pid, qty) in enumerate(lines, start=1):
            title, price = self.prices[pid]
            self.conn.execute(
                "INSERT INTO order_lines (order_number, line_no, product_id, title, quantity, unit_price_minor)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (number, line_no, pid, title, qty, price),
            )
        if paid is not None:
            self.conn.execute(
                "INSERT INTO invoices (id, order_number, issued_at, total_minor, currency) VALUES (?, ?, ?, ?, ?)",
                (invoice_id_for(number), number, to_db(paid), subtotal + shipping, policy.CURRENCY),
            )

    def add_return(
        self,
        number: str,
        product_ids: list[str],
        reason: str,
        created: datetime,
        *,
        received: bool,
        refund_status: str,
        refund_created: datetime | None,
    ) -> tuple[str, str | None]:
        return_id = SqliteOrderStore.next_id(self.conn, "return")
        refund_id = None
        if refund_created is not None:
            refund_id = SqliteOrderStore.next_id(self.conn, "refund")
        status = "refunded" if refund_status == "completed" else ("received" if received else "requested")
        self.conn.execute(
            "INSERT INTO returns (id, order_number, status, reason, product_ids, created_at, refund_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (return_id, number, status, reason, json.dumps(product_ids), to_db(created), refund_id),
        )
        if refund_id is not None and refund_created is not None:
            amount = sum(
                r[0]
                for r in self.conn.execute(
                    "SELECT quantity * unit_price_minor FROM order_lines WHERE order_number = ? AND product_id IN "
                    f"({', '.join('?' for _ in product_ids)})",
                    (number, *product_ids),
                )
            )
            self.add_refund(number, refund_id, amount, return_id, refund_created, refund_status)
        return return_id, refund_id

    def add_refund(
        self, number: str, refund_id: str, amount: int, return_id: str | None, created: datetime, status: str
    ) -> None:
        method = self.conn.execute(
            "SELECT payment_method FROM orders WHERE number = ?", (number,)
        ).fetchone()[0]
        expected = policy.add_business_days(created.date(), policy.REFUND_BUSINESS_DAYS_MAX)
        completed = created + timedelta(days=self.rng.randint(5, 12)) if status == "completed" else None
        self.conn.execute(
            "INSERT INTO refunds (id, order_number, return_id, amount_minor, currency, status, method, created_at,"
            " expected_by, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                refund_id,
                number,
                return_id,
                amount,
                policy.CURRENCY,
                status,
                method,
                to_db(created),
                expected.isoformat(),
                to_db(completed),
            ),
        )


def _customers(rng: random.Random) -> list[tuple[str, str, str, str, str, str, str]]:
    rows = [(c.id, c.name, c.email, c.street, c.postcode, c.city, c.country) for c in DEMO_CUSTOMERS]
    used = {c.email for c in DEMO_CUSTOMERS}
    while len(rows) < N_CUSTOMERS:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}@example.com".lower().replace("á", "a").replace("í", "i").replace("ó", "o")
        if email in used:
            continue
        used.add(email)
        postcode, city, country = rng.choice(CITIES)
        street = f"{rng.choice(STREETS)} {rng.randint(1, 180)}"
        rows.append((f"C-{len(rows) + 1:04d}", f"{first} {last}", email, street, postcode, city, country))
    return rows


def _basket(
    rng: random.Random, bundles: list[list[str]], favourites: list[int], all_ids: list[str]
) -> list[tuple[str, int]]:
    bundle = bundles[rng.choice(favourites) if rng.random() < 0.8 else rng.randrange(len(bundles))]
    size = rng.choices((1, 2, 3, 4), weights=(30, 40, 22, 8))[0]
    picked = rng.sample(bundle, min(size, len(bundle)))
    if rng.random() < 0.12:
        extra = rng.choice(all_ids)
        if extra not in picked:
            picked.append(extra)
    return [(pid, 2 if rng.random() < 0.1 else 1) for pid in picked]


def seed(
    store: SqliteOrderStore,
    catalog_path: Path = DEFAULT_CATALOG,
    *,
    rng_seed: int = SEED,
    on_created: Sequence[OnCreatedHook] = (),
) -> None:
    """Fill an empty store. Raises RuntimeError if it already has orders. ``on_created`` runs for each seeded
    order in the seed's transaction (the ledger queues its record there, as for an order placed in the chat)."""
    rng = random.Random(rng_seed)
    now = store.now().replace(microsecond=0)
    catalog = load_catalog(catalog_path)
    ids_by_key = product_ids()
    bundles = [[pid for pid in b] for b in bundle_product_ids()]
    with store.transaction() as conn:
        if conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0]:
            raise RuntimeError(f"{store.path} already has orders; use --force to rebuild it")
        for row in catalog:
            conn.execute(
                "INSERT INTO products (id, title, description, brand, category, price_minor, currency, stock,"
                " attributes, image_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row["id"],
                    row["title"],
                    row["description"],
                    row["brand"],
                    row["category"],
                    _price_minor(row["price"]),
                    row["currency"],
                    int(row["stock"]),
                    row["attributes"],
                    row["image_url"],
                ),
            )
        prices = {row["id"]: (row["title"], _price_minor(row["price"])) for row in catalog}
        for cid, name, email, street, postcode, city, country in _customers(rng):
            since = now - timedelta(days=rng.randint(400, 1500))
            conn.execute(
                "INSERT INTO customers (id, name, email, created_at, street, postcode, city, country)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (cid, name, email, to_db(since), street, postcode, city, country),
            )
        customers = conn.execute("SELECT * FROM customers ORDER BY id").fetchall()
        by_id = {c["id"]: c for c in customers}
        seeder = _Seeder(conn, now, rng, prices)

        for demo in DEMO_ORDERS:
            eta = now + timedelta(days=demo.eta_days_from_now) if demo.eta_days_from_now is not None else None
            seeder.insert_order(
                demo.number,
                by_id[demo.customer_id],
                [(ids_by_key[key], qty) for key, qty in demo.product_keys],
                demo.status,
                created=now - timedelta(days=demo.created_days_ago),
                paid=seeder.ago(demo.paid_days_ago),
                packed=seeder.ago(demo.packed_days_ago),
                shipped=seeder.ago(demo.shipped_days_ago),
                delivered=seeder.ago(demo.delivered_days_ago),
                cancelled=seeder.ago(demo.cancelled_days_ago),
                carrier=demo.carrier,
                tracking=demo.tracking_number,
                eta=eta,
            )
        return_id, refund_id = seeder.add_return(
            "SD-100007",
            [ids_by_key["white-sneaker"]],
            "too small",
            now - timedelta(days=6),
            received=True,
            refund_status="processing",
            refund_created=now - timedelta(days=3),
        )
        assert (return_id, refund_id) == (DEMO_RETURN_ID, DEMO_REFUND_ID)

        # ~300 generated orders over the last year, numbered in date order after the demo ones.
        all_ids = [row["id"] for row in catalog]
        favourites = {c["id"]: rng.sample(range(len(bundles)), 2) for c in customers}
        ages = sorted((rng.uniform(0.05, 365.0) for _ in range(N_GENERATED_ORDERS)), reverse=True)
        for serial, age in enumerate(ages, start=100000 + len(DEMO_ORDERS) + 1):
            number = f"SD-{serial:06d}"
            customer = rng.choice(customers)
            lines = _basket(rng, bundles, favourites[customer["id"]], all_ids)
            created = now - timedelta(days=age)
            t: dict[str, datetime | None] = {
                "paid": None,
                "packed": None,
                "shipped": None,
                "delivered": None,
                "cancelled": None,
            }
            roll = rng.random()
            if roll < 0.07:
                status = "cancelled"
                if rng.random() < 0.5:
                    t["paid"] = created + timedelta(minutes=5)
                t["cancelled"] = created + timedelta(hours=rng.uniform(1, 20))
            elif age < 0.5:
                status = "pending" if roll < 0.5 else "paid"
            elif age < 1.5:
                status = rng.choice(("paid", "packed"))
            elif age < 4:
                status = "shipped"
            else:
                status = "returned" if roll > 0.93 else "delivered"
            if status != "cancelled" and status != "pending":
                t["paid"] = created + timedelta(minutes=rng.randint(1, 30))
            if status in ("packed", "shipped", "delivered", "returned"):
                t["packed"] = created + timedelta(hours=rng.uniform(6, 24))
            if status in ("shipped", "delivered", "returned"):
                t["shipped"] = created + timedelta(hours=rng.uniform(24, 40))
            if status in ("delivered", "returned"):
                t["delivered"] = created + timedelta(days=rng.uniform(2.5, 4))
            seeder.insert_order(
                number,
                customer,
                lines,
                status,
                created=created,
                paid=t["paid"],
                packed=t["packed"],
                shipped=t["shipped"],
                delivered=t["delivered"],
                cancelled=t["cancelled"],
            )
            if status == "returned":
                assert t["delivered"] is not None
                requested = t["delivered"] + timedelta(days=rng.uniform(1, 12))
                if requested > now:
                    requested = now - timedelta(hours=1)
                refund_created = requested + timedelta(days=3)
                done = refund_created + timedelta(days=10) < now
                seeder.add_return(
                    number,
                    [lines[0][0]],
                    rng.choice(RETURN_REASONS),
                    requested,
                    received=True,
                    refund_status="completed" if done else "processing",
                    refund_created=min(refund_created, now),
                )
            elif status == "cancelled" and t["paid"] is not None:
                assert t["cancelled"] is not None
                refund_id = SqliteOrderStore.next_id(conn, "refund")
                total = conn.execute("SELECT total_minor FROM orders WHERE number = ?", (number,)).fetchone()[
                    0
                ]
                seeder.add_refund(
                    number, refund_id, total, None, t["cancelled"], "completed" if age > 14 else "pending"
                )
        last_serial = 100000 + len(DEMO_ORDERS) + N_GENERATED_ORDERS
        SqliteOrderStore.bump_sequence(conn, "order", last_serial)
        SqliteOrderStore.bump_sequence(conn, "invoice", 400000 + last_serial - 100000)
        if on_created:
            for (number,) in conn.execute("SELECT number FROM orders ORDER BY number").fetchall():
                order = store._load_order(conn, number)
                for hook in on_created:
                    hook(conn, order)
    logger.info(
        "seeded %s with %s products, %s customers, %s orders",
        store.path,
        len(catalog),
        len(customers),
        last_serial - 100000,
    )


def open_seeded_store(
    path: str | Path,
    *,
    clock: Clock = utc_now,
    catalog_path: Path = DEFAULT_CATALOG,
    force: bool = False,
    on_created: Sequence[OnCreatedHook] = (),
    on_changed: Sequence[OnChangedHook] = (),
) -> SqliteOrderStore:
    """Open the store at ``path``, seeding it first if it is new (or rebuilding it with ``force``); ``on_created``
    runs for each seeded order, ``on_changed`` is the store's (``shop.open_store``)."""
    path = Path(path)
    if force and path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = SqliteOrderStore(path, clock=clock, on_changed=on_changed)
    with store.read() as conn:
        seeded = conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0] > 0
    if not seeded:
        seed(store, catalog_path, on_created=on_created)
    return store


def _parse_now(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def main(argv: Sequence[str] | None = None, *, on_created: Sequence[OnCreatedHook] = ()) -> int:
    """The seed command; ``on_created`` runs for each seeded order (``python -m actions.seed_shop`` passes the
    ledger's queue hook)."""
    parser = argparse.ArgumentParser(description="Create and seed the demo shop database if it is absent.")
    parser.add_argument(
        "--db", type=Path, default=None, help="SQLite file (default: $SHOP_DB_PATH or var/shop.db)"
    )
    parser.add_argument(
        "--catalog", type=Path, default=DEFAULT_CATALOG, help="catalog CSV (default: %(default)s)"
    )
    parser.add_argument("--force", action="store_true", help="delete an existing DB and seed it again")
    parser.add_argument(
        "--now", type=_parse_now, default=None, help="pretend 'now' is this UTC time (ISO 8601)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.db is None:  # the CLI's one setting, read as the action server reads it (actions/settings.py)
        db = Path(os.environ.get("SHOP_DB_PATH") or "var/shop.db").expanduser()
        args.db = db if db.is_absolute() else REPO_ROOT / db
    fixed_now = args.now
    clock: Clock = (lambda: fixed_now) if fixed_now is not None else utc_now
    store = open_seeded_store(
        args.db, clock=clock, catalog_path=args.catalog, force=args.force, on_created=on_created
    )
    with store.read() as conn:
        counts = {
            t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("products", "customers", "orders", "invoices", "returns", "refunds")
        }
    print(f"{store.path}: " + ", ".join(f"{n} {t}" for t, n in counts.items()))  # noqa: T201 (CLI output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
