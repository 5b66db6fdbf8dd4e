"""A large synthetic shop for benchmarks: ``write_bulk_orders(path, n)`` fills the real schema fast.

Not the demo shop (that is ``shop.demo.seed``): one customer, 60 products, ``n`` pending orders with 1-4
lines each, deterministic for a given ``seed``. ``tamper_order_line`` edits a line behind the store's back,
as an attacker with file access would, so a benchmark can show that verification notices.
"""

from __future__ import annotations

import random
from pathlib import Path

from shop.sqlite import SqliteOrderStore

N_PRODUCTS = 60
SHIPPING_MINOR = 495


def write_bulk_orders(path: str | Path, n: int, *, seed: int = 0) -> SqliteOrderStore:
    """Create the shop at ``path`` (the real schema) with ``n`` orders ``SD-200000`` onwards."""
    rng = random.Random(seed)
    store = SqliteOrderStore(path)
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO customers (id, name, email, created_at) VALUES (?, ?, ?, ?)",
            ("C-0001", "Bench Customer", "bench@example.com", "2025-01-01T00:00:00+00:00"),
        )
        conn.executemany(
            "INSERT INTO products (id, title, description, brand, category, price_minor, currency, stock)"
            " VALUES (?, ?, '', 'Bench', 'bench', ?, 'EUR', 1000)",
            [(f"P-{1001 + i}", f"Bench product {i + 1}", 1000) for i in range(N_PRODUCTS)],
        )
        for i in range(n):
            number = f"SD-{200000 + i}"
            lines = [
                (f"P-{1001 + k}", rng.randint(1, 3), rng.randint(500, 20000))
                for k in rng.sample(range(N_PRODUCTS), rng.randint(1, 4))
            ]
            subtotal = sum(q * p for _, q, p in lines)
            conn.execute(
                "INSERT INTO orders (number, customer_id, status, subtotal_minor, shipping_minor, total_minor,"
                " currency, payment_method, ship_name, ship_street, ship_postcode, ship_city, ship_country,"
                " created_at) VALUES (?, 'C-0001', 'pending', ?, ?, ?, 'EUR', 'Card', 'Bench Customer',"
                " 'Benchstraße 1', '10115', 'Berlin', 'DE', ?)",
                (
                    number,
                    subtotal,
                    SHIPPING_MINOR,
                    subtotal + SHIPPING_MINOR,
                    f"2025-03-01T10:{i % 60:02d}:00+00:00",
                ),
            )
            conn.executemany(
                "INSERT INTO order_lines (order_number, line_no, product_id, title, quantity, unit_price_minor)"
                " VALUES (?, ?, ?, 'Bench product', ?, ?)",
                [(number, k, pid, q, p) for k, (pid, q, p) in enumerate(lines, 1)],
            )
        store.bump_sequence(conn, "order", 200000 + n)
    return store


def tamper_order_line(path: str | Path, number: str) -> None:
    """Add one to the quantity of ``number``'s lines without going through the store (a forged edit)."""
    store = SqliteOrderStore(path)
    with store.transaction() as conn:
        conn.execute("UPDATE order_lines SET quantity = quantity + 1 WHERE order_number = ?", (number,))
