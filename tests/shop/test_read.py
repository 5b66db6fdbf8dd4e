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
