"""Constants and builders shared by the ledger tests (imported as a top-level module by pytest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ANVIL_BIN = REPO / "node_modules" / ".bin" / "anvil"
# eth-tester's funded account 0 has private key 1; anvil's account 0 is the well-known dev key.
TESTER_KEY = "0x" + "00" * 31 + "01"
TESTER_KEY_2 = "0x" + "00" * 31 + "02"
ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def sample_order(number: str = "SD-100001", **overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "order_number": number,
        "created_at": "2025-03-01T10:00:00Z",
        "currency": "EUR",
        "lines": [
            {"product_id": "P-1002", "quantity": 1, "unit_price_minor": 4990},
            {"product_id": "P-1001", "quantity": 2, "unit_price_minor": 1250},
        ],
        "shipping_minor": 0,
        "total_minor": 7490,
    }
    order.update(overrides)
    return order
