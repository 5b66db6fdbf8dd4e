"""The SQLite schema of the shop: every table of the shop's data, created in one place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, next_value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    street TEXT, postcode TEXT, city TEXT, country TEXT
);
CREATE TABLE IF NOT EXISTS products (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    brand TEXT NOT NULL,
    category TEXT NOT NULL,
    price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
    currency TEXT NOT NULL,
    stock INTEGER NOT NULL CHECK (stock >= 0),
    attributes TEXT NOT NULL DEFAULT '{}',
    image_url TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS orders (
    number TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    status TEXT NOT NULL CHECK (status IN
        ('pending','paid','packed','shipped','delivered','cancelled','returned')),
    subtotal_minor INTEGER NOT NULL,
    shipping_minor INTEGER NOT NULL,
    total_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    payment_method TEXT NOT NULL,
    ship_name TEXT NOT NULL, ship_street TEXT NOT NULL, ship_postcode TEXT NOT NULL,
    ship_city TEXT NOT NULL, ship_country TEXT NOT NULL,
    created_at TEXT NOT NULL,
    paid_at TEXT, packed_at TEXT, shipped_at TEXT, delivered_at TEXT, cancelled_at TEXT,
    carrier TEXT, tracking_number TEXT, tracking_url TEXT, estimated_delivery TEXT
);
CREATE INDEX IF NOT EXISTS orders_customer ON orders(customer_id);
CREATE TABLE IF NOT EXISTS order_lines (
    order_number TEXT NOT NULL REFERENCES orders(number),
    line_no INTEGER NOT NULL,
    product_id TEXT NOT NULL REFERENCES products(id),
    title TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_minor INTEGER NOT NULL,
    PRIMARY KEY (order_number, product_id)
);
CREATE TABLE IF NOT EXISTS returns (
    id TEXT PRIMARY KEY,
    order_number TEXT NOT NULL REFERENCES orders(number),
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    product_ids TEXT NOT NULL,
    created_at TEXT NOT NULL,
    refund_id TEXT
);
CREATE INDEX IF NOT EXISTS returns_order ON returns(order_number);
CREATE TABLE IF NOT EXISTS refunds (
    id TEXT PRIMARY KEY,
    order_number TEXT NOT NULL REFERENCES orders(number),
    return_id TEXT REFERENCES returns(id),
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    method TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expected_by TEXT NOT NULL,
    completed_at TEXT
);
CREATE INDEX IF NOT EXISTS refunds_order ON refunds(order_number);
-- a postcode as the console's risk signals compare it (upper case, no spaces or hyphens; shop/sqlite/reader.py)
CREATE INDEX IF NOT EXISTS orders_postcode_key
    ON orders(replace(replace(upper(ship_postcode), ' ', ''), '-', ''));
CREATE INDEX IF NOT EXISTS customers_postcode_key
    ON customers(replace(replace(upper(postcode), ' ', ''), '-', ''));
CREATE TABLE IF NOT EXISTS invoices (
    id TEXT PRIMARY KEY,
    order_number TEXT NOT NULL REFERENCES orders(number),
    issued_at TEXT NOT NULL,
    total_minor INTEGER NOT NULL,
    currency TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('complaint','review')),
    text TEXT NOT NULL,
    order_number TEXT REFERENCES orders(number),
    conversation_id TEXT NOT NULL,
    rating INTEGER,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS handoff_requests (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL
);
-- failed order verifications (issue 10): the throttle per order number and per client outlives conversations
CREATE TABLE IF NOT EXISTS verification_failures (
    id INTEGER PRIMARY KEY,
    order_number TEXT NOT NULL,
    client TEXT NOT NULL,
    failed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS verification_failures_order ON verification_failures(order_number, failed_at);
CREATE INDEX IF NOT EXISTS verification_failures_client ON verification_failures(client, failed_at);
"""

# name -> (prefix, first value, digits)
SEQUENCES = {
    "order": ("SD", 100001, 6),
    "return": ("RT", 200001, 6),
    "refund": ("RF", 300001, 6),
    "invoice": ("INV", 400001, 6),
    "feedback": ("FB", 1, 6),
    "handoff": ("HO", 1, 6),
}


def init_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Create missing tables, check the schema version and start the id sequences (idempotent)."""
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(SCHEMA)
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    if row is None:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
    elif row["version"] != SCHEMA_VERSION:
        raise RuntimeError(
            f"{path}: schema version {row['version']}, this code expects {SCHEMA_VERSION}; "
            "delete the file and re-seed (python -m shop.demo.seed --force)"
        )
    for name, (_, first, _) in SEQUENCES.items():
        conn.execute("INSERT OR IGNORE INTO sequences (name, next_value) VALUES (?, ?)", (name, first))
