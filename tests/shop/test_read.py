"""``shop.read``: the read-only API the bot and ledger verification use instead of SQL of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from shop.errors import ShopUnavailableError
from shop.interface import OrderStore
from shop.read import open_reader


@pytest.fixture
def db(store: OrderStore) -> Path:
    path = getattr(store, "path", None)
    if path is None:
        pytest.skip("the read API is exercised on file-backed stores")
    return Path(path)


def test_missing_shop_is_unavailable_and_not_created(tmp_path: Path) -> None:
    reader = open_reader(tmp_path / "absent.db")
    with pytest.raises(ShopUnavailableError):
        reader.order("SD-100001")
    with pytest.raises(ShopUnavailableError):
        reader.products_in_stock()
    with pytest.raises(ShopUnavailableError):
        list(reader.ledger_orders())
    assert not (tmp_path / "absent.db").exists()


def test_order_view_matches_the_store(store: OrderStore, db: Path) -> None:
    order = store.get_order("SD-100003")
    view = open_reader(db).order("SD-100003")
    assert view is not None
    assert (view["number"], view["status"], view["total_minor"], view["currency"]) == (
        order.number,
        order.status,
        order.total_minor,
        order.currency,
    )
    assert (view["customer_id"], view["customer_email"], view["ship_city"]) == (
        order.customer.id,
        order.customer.email,
        order.shipping_address.city,
    )
    assert (view["carrier"], view["tracking_number"]) == (order.carrier, order.tracking_number)
    assert order.shipment is not None and order.shipment.tracking_url  # SD-100003 is shipped
    assert view["tracking_url"] == order.shipment.tracking_url
    assert [(x["product_id"], x["quantity"]) for x in view["lines"]] == [
        (x.product_id, x.quantity) for x in order.lines
    ]
    assert open_reader(db).order("SD-999999") is None


def test_products_in_stock(store: OrderStore, db: Path) -> None:
    expected = [p.id for p in store.list_products(in_stock_only=True)]
    assert [p["id"] for p in open_reader(db).products_in_stock()] == expected


def test_ledger_orders_are_what_the_store_holds(store: OrderStore, db: Path) -> None:
    reader = open_reader(db)
    (one,) = reader.ledger_orders("SD-100004")
    order = store.get_order("SD-100004")
    assert one == {
        "order_number": order.number,
        "created_at": one["created_at"],
        "currency": order.currency,
        "lines": [
            {"product_id": x.product_id, "quantity": x.quantity, "unit_price_minor": x.unit_price_minor}
            for x in order.lines
        ],
        "shipping_minor": order.shipping_minor,
        "total_minor": order.total_minor,
    }
    assert one["created_at"].startswith(order.created_at.date().isoformat())
    numbers = [o["order_number"] for o in reader.ledger_orders()]
    assert numbers == sorted(numbers) and "SD-100004" in numbers


# --- customer histories (the console's risk signals, bot/risk.py) ---------------------------------------


def test_history_reads_of_a_missing_shop_are_unavailable(tmp_path: Path) -> None:
    reader = open_reader(tmp_path / "absent.db")
    for call in (
        lambda: reader.customer_history("C-0001"),
        lambda: reader.returns_per_customer("2025-01-01T00:00:00+00:00"),
        lambda: reader.address_uses(["10115"]),
        lambda: reader.verification_failures(["SD-100001"], ["client:x"], "2025-01-01T00:00:00+00:00"),
    ):
        with pytest.raises(ShopUnavailableError):
            call()
    assert not (tmp_path / "absent.db").exists()


def test_customer_history_is_what_the_store_holds(store: OrderStore, db: Path) -> None:
    order = store.get_order("SD-100007")  # the demo order with a return and its refund
    customer = order.customer
    history = open_reader(db).customer_history(customer.id)
    assert history is not None
    assert history["customer"]["id"] == customer.id and history["customer"]["email"] == customer.email
    orders = store.orders_for_customer(customer.id)
    assert sorted(o["number"] for o in history["orders"]) == sorted(o.number for o in orders)
    assert [o["created_at"] for o in history["orders"]] == sorted(o["created_at"] for o in history["orders"])
    returns = [r.id for o in orders for r in store.returns_for_order(o.number)]
    refunds = [(f.id, f.amount_minor) for o in orders for f in store.refunds_for_order(o.number)]
    assert sorted(r["id"] for r in history["returns"]) == sorted(returns)
    assert sorted((f["id"], f["amount_minor"]) for f in history["refunds"]) == sorted(refunds)
    seven = next(o for o in history["orders"] if o["number"] == "SD-100007")
    assert seven["address"]["city"] == order.shipping_address.city
    assert open_reader(db).customer_history("C-9999") is None


def test_returns_per_customer_counts_every_customer_with_orders(store: OrderStore, db: Path) -> None:
    reader = open_reader(db)
    with_orders = {line.customer_id for line in store.all_order_lines()}  # not cancelled ones only
    everything = reader.returns_per_customer("1970-01-01T00:00:00+00:00")
    assert sum(everything.values()) >= len(with_orders)
    assert sum(n * customers for n, customers in everything.items()) > 0  # the demo shop has returns
    assert reader.returns_per_customer("2999-01-01T00:00:00+00:00") == {0: sum(everything.values())}


def test_address_uses_compare_postcodes_without_case_spaces_and_hyphens(store: OrderStore, db: Path) -> None:
    order = store.get_order("SD-100003")
    postcode = order.shipping_address.postcode
    spaced = " ".join(postcode).upper()
    key = spaced.replace(" ", "")
    uses = open_reader(db).address_uses([key])
    assert any(u["customer_id"] == order.customer.id and u["source"] == "order" for u in uses)
    assert {u["postcode"].replace(" ", "").replace("-", "").upper() for u in uses} == {key}
    assert open_reader(db).address_uses([]) == []
