"""Customer histories with explicit dates, written into the real schema (tests and benchmarks).

The store's own API creates orders as ``pending`` at its clock's "now" and has no call to create a customer or to
deliver an order, so a history "3 returns in the last 90 days" cannot be built through it. ``HistoryWriter``
writes exactly what is asked (a customer, a delivered order 120 days ago, a return, a refund) in the store's own
transactions, as ``shop.demo.seed`` does; ``write_histories`` fills a larger shop for ``bench/console_risk.py``.
Not the demo shop (``shop.demo.seed``); nothing imports this at start-up.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from shop import policy
from shop.model import Address
from shop.sqlite import SqliteOrderStore, to_db

PRODUCT_ID = "P-9001"
_DEFAULT_ADDRESS = Address("Musterweg 1", "10115", "Berlin", "DE")


class HistoryWriter:
    """Writes customers, orders, returns and refunds with the dates given (timezone-aware UTC datetimes)."""

    def __init__(self, store: SqliteOrderStore) -> None:
        self.store = store
        with store.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO products (id, title, description, brand, category, price_minor, currency,"
                " stock) VALUES (?, 'History item', '', 'Demo', 'demo', 1000, ?, 1000000)",
                (PRODUCT_ID, policy.CURRENCY),
            )

    def customer(
        self, name: str, *, email: str | None = None, address: Address | None = None, created_at: datetime
    ) -> str:
        """A new customer (``C-0001`` onwards); ``address`` None: no default address."""
        with self.store.transaction() as conn:
            serial = conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0] + 1
            customer_id = f"C-{serial:04d}"
            conn.execute(
                "INSERT INTO customers (id, name, email, created_at, street, postcode, city, country)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    customer_id,
                    name,
                    email or f"customer{serial}@example.com",
                    to_db(created_at),
                    address.street if address else None,
                    address.postcode if address else None,
                    address.city if address else None,
                    address.country if address else None,
                ),
            )
        return customer_id

    def order(
        self,
        customer_id: str,
        total_minor: int,
        *,
        created_at: datetime,
        status: str = "delivered",
        address: Address | None = None,
        currency: str = policy.CURRENCY,
    ) -> str:
        """An order of one line worth ``total_minor`` (no shipping fee), shipped to ``address`` (default: the
        customer's default address, else Musterweg 1, 10115 Berlin)."""
        with self.store.transaction() as conn:
            if address is None:
                row = conn.execute(
                    "SELECT street, postcode, city, country FROM customers WHERE id = ?", (customer_id,)
                ).fetchone()
                address = Address(*row) if row and row[0] else _DEFAULT_ADDRESS
            number = SqliteOrderStore.next_id(conn, "order")
            delivered = created_at + timedelta(days=3) if status in ("delivered", "returned") else None
            conn.execute(
                "INSERT INTO orders (number, customer_id, status, subtotal_minor, shipping_minor, total_minor,"
                " currency, payment_method, ship_name, ship_street, ship_postcode, ship_city, ship_country,"
                " created_at, paid_at, delivered_at) VALUES (?, ?, ?, ?, 0, ?, ?, 'Card', '', ?, ?, ?, ?, ?, ?, ?)",
                (
                    number,
                    customer_id,
                    status,
                    total_minor,
                    total_minor,
                    currency,
                    address.street,
                    address.postcode,
                    address.city,
                    address.country,
                    to_db(created_at),
                    None if status == "pending" else to_db(created_at),
                    to_db(delivered),
                ),
            )
            conn.execute(
                "INSERT INTO order_lines (order_number, line_no, product_id, title, quantity, unit_price_minor)"
                " VALUES (?, 1, ?, 'History item', 1, ?)",
                (number, PRODUCT_ID, total_minor),
            )
        return number

    def return_request(self, number: str, *, created_at: datetime, status: str = "received") -> str:
        with self.store.transaction() as conn:
            return_id = SqliteOrderStore.next_id(conn, "return")
            conn.execute(
                "INSERT INTO returns (id, order_number, status, reason, product_ids, created_at)"
                " VALUES (?, ?, ?, 'history', ?, ?)",
                (return_id, number, status, f'["{PRODUCT_ID}"]', to_db(created_at)),
            )
        return return_id

    def refund(
        self,
        number: str,
        amount_minor: int,
        *,
        created_at: datetime,
        return_id: str | None = None,
        status: str = "completed",
    ) -> str:
        """A refund of ``amount_minor``; ``return_id`` None: the refund of a cancelled order."""
        with self.store.transaction() as conn:
            refund_id = SqliteOrderStore.next_id(conn, "refund")
            currency = conn.execute("SELECT currency FROM orders WHERE number = ?", (number,)).fetchone()[0]
            conn.execute(
                "INSERT INTO refunds (id, order_number, return_id, amount_minor, currency, status, method,"
                " created_at, expected_by) VALUES (?, ?, ?, ?, ?, ?, 'Card', ?, ?)",
                (
                    refund_id,
                    number,
                    return_id,
                    amount_minor,
                    currency,
                    status,
                    to_db(created_at),
                    (created_at + timedelta(days=14)).date().isoformat(),
                ),
            )
            if return_id is not None:
                conn.execute("UPDATE returns SET refund_id = ? WHERE id = ?", (refund_id, return_id))
        return refund_id


def write_histories(
    path: str | Path, n_customers: int, orders_per_customer: int, *, now: datetime, seed: int = 0
) -> SqliteOrderStore:
    """A shop of ``n_customers`` (at most 9999) customers with ``orders_per_customer`` orders each over the last
    year, one return in ten (with its refund), about ten customers per postcode, and 6% of the customers at one of
    ``n_customers // 50`` shared addresses in postcode 10115; deterministic."""
    rng = random.Random(seed)
    store = SqliteOrderStore(path)
    HistoryWriter(store)  # the product
    with store.transaction() as conn:
        shared = [f"Sharedstraße {i}" for i in range(max(1, n_customers // 50))]
        for c in range(1, n_customers + 1):
            if rng.random() < 0.06:  # one of the shared addresses, all in 10115
                street, postcode = rng.choice(shared), "10115"
            else:  # about ten customers per postcode, as in a city
                street, postcode = f"Benchweg {c}", f"{20000 + c % max(1, n_customers // 10)}"
            conn.execute(
                "INSERT INTO customers (id, name, email, created_at, street, postcode, city, country)"
                " VALUES (?, ?, ?, ?, ?, ?, 'Berlin', 'DE')",
                (
                    f"C-{c:04d}",
                    f"Bench Customer {c}",
                    f"bench{c}@example.com",
                    to_db(now - timedelta(days=800)),
                    street,
                    postcode,
                ),
            )
            for _ in range(orders_per_customer):
                number = SqliteOrderStore.next_id(conn, "order")
                created = now - timedelta(days=rng.uniform(0, 365))
                total = rng.randint(1000, 20000)
                conn.execute(
                    "INSERT INTO orders (number, customer_id, status, subtotal_minor, shipping_minor,"
                    " total_minor, currency, payment_method, ship_name, ship_street, ship_postcode, ship_city,"
                    " ship_country, created_at) VALUES (?, ?, 'delivered', ?, 0, ?, ?, 'Card', '', ?, ?,"
                    " 'Berlin', 'DE', ?)",
                    (number, f"C-{c:04d}", total, total, policy.CURRENCY, street, postcode, to_db(created)),
                )
                conn.execute(
                    "INSERT INTO order_lines (order_number, line_no, product_id, title, quantity,"
                    " unit_price_minor) VALUES (?, 1, ?, 'History item', 1, ?)",
                    (number, PRODUCT_ID, total),
                )
                if rng.random() < 0.1:
                    return_id = SqliteOrderStore.next_id(conn, "return")
                    refund_id = SqliteOrderStore.next_id(conn, "refund")
                    returned_at = created + timedelta(days=5)
                    returned = to_db(returned_at)
                    conn.execute(
                        "INSERT INTO returns (id, order_number, status, reason, product_ids, created_at,"
                        " refund_id) VALUES (?, ?, 'refunded', 'bench', ?, ?, ?)",
                        (return_id, number, f'["{PRODUCT_ID}"]', returned, refund_id),
                    )
                    conn.execute(
                        "INSERT INTO refunds (id, order_number, return_id, amount_minor, currency, status,"
                        " method, created_at, expected_by) VALUES (?, ?, ?, ?, ?, 'completed', 'Card', ?, ?)",
                        (
                            refund_id,
                            number,
                            return_id,
                            total,
                            policy.CURRENCY,
                            returned,
                            returned_at.date().isoformat(),
                        ),
                    )
    return store
