# ruff: noqa: T201  (a command-line tool)
"""Seed the demo shop with its orders' ledger records: ``python -m shop.demo.seed``'s command (same options),
composed with the ledger's queue hook, so each seeded order's record is queued in the seed's own transaction.

    python -m actions.seed_shop --db var/shop.db [--force] [--now 2025-03-01T12:00:00Z]

Why here: ``shop`` may not import ``ledger``, so the composition happens in the layer that may import both,
as ``actions.services`` does for the action server (``SHOP_DB_SEED``). ``make data``/``make reseed`` and the
live test stack (tests/conftest.py) seed through this command; ``python -m ledger.sender`` delivers the records.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ledger.canonical import KeyRing
from ledger.errors import LedgerError
from ledger.gateway import queue_hook
from ledger.settings import LedgerSettings


def main(argv: Sequence[str] | None = None) -> int:
    from shop.demo import seed  # here, not at import: rasa-sdk imports every actions module at start-up

    try:
        settings = LedgerSettings.from_env()
        keys = KeyRing(settings.hmac_key.encode("utf-8"))
    except (ValueError, LedgerError) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 3
    return seed.main(argv, on_created=[queue_hook(keys)])


if __name__ == "__main__":
    sys.exit(main())
