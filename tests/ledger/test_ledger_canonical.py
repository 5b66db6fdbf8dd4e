from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from ledger.canonical import CANONICAL_VERSION, KeyRing, canonical_json, check_disclosure, utc_timestamp
from ledger.errors import CanonicalFormError, LedgerConfigError
from tests.ledger.ledger_helpers import sample_order


def test_canonical_json_is_sorted_compact_and_versioned() -> None:
    text = canonical_json(sample_order()).decode()
    data = json.loads(text)
    assert data["v"] == CANONICAL_VERSION
    assert [line["product_id"] for line in data["lines"]] == ["P-1001", "P-1002"]
    assert " " not in text
    assert text == json.dumps(data, sort_keys=True, separators=(",", ":"))


def test_line_order_and_time_zone_do_not_change_the_digest(keyring: KeyRing) -> None:
    base = sample_order()
    shuffled = sample_order(lines=list(reversed(base["lines"])))
    berlin = datetime(2025, 3, 1, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    assert keyring.digest(base) == keyring.digest(shuffled) == keyring.digest(sample_order(created_at=berlin))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customer_name": "Ada Lovelace"}, "customer_name"),
        ({"email": "ada@example.com"}, "email"),
        ({"shipping_address": "1 Main St"}, "shipping_address"),
        ({"total_minor": 74.9}, "total_minor"),
        ({"total_minor": -1}, "total_minor"),
        ({"currency": "euro"}, "currency"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"lines": []}, "lines"),
        ({"lines": [{"product_id": "P-1", "quantity": 0, "unit_price_minor": 1}]}, "lines[0].quantity"),
        ({"lines": [{"product_id": "P-1", "quantity": True, "unit_price_minor": 1}]}, "lines[0].quantity"),
        ({"lines": [{"product_id": "P-1", "quantity": 1, "unit_price_minor": 1, "title": "x"}]}, "lines[0]"),
        ({"order_number": "Ada Lovelace <ada@example.com>"}, "order_number"),
    ],
)
def test_personal_data_and_bad_values_are_refused(
    keyring: KeyRing, change: dict[str, object], field: str
) -> None:
    with pytest.raises(CanonicalFormError) as info:
        keyring.digest(sample_order(**change))
    assert info.value.field == field


def test_any_change_to_the_order_changes_the_digest(keyring: KeyRing) -> None:
    digest = keyring.digest(sample_order())
    assert keyring.digest(sample_order(total_minor=7491)) != digest
    assert keyring.digest(sample_order(shipping_minor=1)) != digest
    lines = sample_order()["lines"]
    lines[0] = {**lines[0], "quantity": 3}
    assert keyring.digest(sample_order(lines=lines)) != digest


def test_keys_are_per_order_and_per_secret(keyring: KeyRing) -> None:
    other = KeyRing(b"another-shop-secret-0123456789")
    assert keyring.record_id("SD-100001") != keyring.record_id("SD-100002")
    assert keyring.record_id("SD-100001") != other.record_id("SD-100001")
    assert keyring.order_key("SD-100001") != keyring.record_id("SD-100001")
    assert "test-ledger" not in repr(keyring)


def test_disclosure_lets_an_auditor_check_one_order_without_the_shop_key(keyring: KeyRing) -> None:
    order = sample_order()
    stored = keyring.digest(order)
    bundle = keyring.disclosure(order)
    assert check_disclosure(bundle, stored)
    assert b"test-ledger-hmac-key" not in json.dumps(bundle).encode()
    forged = {**bundle, "canonical_json": bundle["canonical_json"].replace("7490", "1")}
    assert not check_disclosure(forged, stored)
    # the per-order key of one order says nothing about another order's key
    assert keyring.order_key("SD-100002").hex() not in json.dumps(bundle)


def test_short_keys_are_refused() -> None:
    with pytest.raises(LedgerConfigError, match="LEDGER_HMAC_KEY"):
        KeyRing(b"short")


def test_utc_timestamp_treats_naive_as_utc() -> None:
    assert utc_timestamp(datetime(2025, 1, 2, 3, 4, 5)) == "2025-01-02T03:04:05Z"
    assert utc_timestamp("2025-01-02T04:04:05+01:00") == "2025-01-02T03:04:05Z"
