"""The demo shop's people and documented orders (docs/demo-shop.md), as data the seed turns into rows."""

from __future__ import annotations

from dataclasses import dataclass

SEED = 42
N_CUSTOMERS = 40
N_GENERATED_ORDERS = 300
CARRIERS = {"DHL": "JJD", "DPD": "0150", "UPS": "1Z", "GLS": "GL"}
PAYMENT_METHODS = (
    "Visa ending 4242",
    "Mastercard ending 5100",
    "PayPal",
    "Klarna invoice",
    "Visa ending 1881",
)


@dataclass(frozen=True)
class DemoCustomer:
    id: str
    name: str
    email: str
    street: str
    postcode: str
    city: str
    country: str


DEMO_CUSTOMERS = (
    DemoCustomer("C-0001", "Anna Berg", "anna.berg@example.com", "Lindenstraße 12", "10969", "Berlin", "DE"),
    DemoCustomer(
        "C-0002", "Ben Okafor", "ben.okafor@example.com", "Keizersgracht 221", "1016 DV", "Amsterdam", "NL"
    ),
    DemoCustomer(
        "C-0003", "Chloe Martin", "chloe.martin@example.com", "12 Rue Oberkampf", "75011", "Paris", "FR"
    ),
    DemoCustomer(
        "C-0004", "David Chen", "david.chen@example.com", "Mariahilfer Straße 88", "1070", "Vienna", "AT"
    ),
    DemoCustomer(
        "C-0005", "Emma Fischer", "emma.fischer@example.com", "Sendlinger Str. 5", "80331", "Munich", "DE"
    ),
)

FIRST_NAMES = (
    "Lena",
    "Jonas",
    "Sofia",
    "Lucas",
    "Mia",
    "Noah",
    "Elif",
    "Mateo",
    "Hannah",
    "Luca",
    "Ines",
    "Tomás",
    "Freya",
    "Oskar",
    "Aylin",
    "Marco",
    "Julia",
    "Karim",
    "Nora",
    "Felix",
    "Sara",
    "Henrik",
    "Zoe",
    "Pablo",
    "Maja",
    "Elias",
    "Chiara",
    "Arjun",
    "Clara",
    "Milan",
    "Amira",
    "Leo",
    "Ida",
    "Yusuf",
    "Greta",
)
LAST_NAMES = (
    "Schmidt",
    "Jansen",
    "Rossi",
    "Dubois",
    "Nowak",
    "García",
    "Novak",
    "Larsen",
    "Weber",
    "Costa",
    "Kowalski",
    "Moreau",
    "Yilmaz",
    "Hansen",
    "Bianchi",
    "Svensson",
    "Horvat",
    "Keller",
    "Silva",
    "Meyer",
)
CITIES = (
    ("10115", "Berlin", "DE"),
    ("20095", "Hamburg", "DE"),
    ("50667", "Cologne", "DE"),
    ("1010", "Vienna", "AT"),
    ("8001", "Zurich", "CH"),
    ("1012 AB", "Amsterdam", "NL"),
    ("75003", "Paris", "FR"),
    ("69002", "Lyon", "FR"),
    ("1000", "Brussels", "BE"),
    ("2100", "Copenhagen", "DK"),
    ("00-001", "Warsaw", "PL"),
    ("28004", "Madrid", "ES"),
    ("20121", "Milan", "IT"),
    ("1100-148", "Lisbon", "PT"),
    ("111 22", "Stockholm", "SE"),
)
STREETS = (
    "Hauptstraße",
    "Bahnhofstraße",
    "Market Street",
    "Rue de la Paix",
    "Via Roma",
    "Kirkegade",
    "Calle Mayor",
    "Parkweg",
    "Gartenstraße",
    "Avenida da Liberdade",
)
RETURN_REASONS = (
    "too small",
    "too large",
    "changed my mind",
    "arrived damaged",
    "not as pictured",
    "ordered two sizes",
)


@dataclass(frozen=True)
class DemoOrder:
    number: str
    customer_id: str
    status: str
    product_keys: tuple[tuple[str, int], ...]
    created_days_ago: float
    paid_days_ago: float | None = None
    packed_days_ago: float | None = None
    shipped_days_ago: float | None = None
    delivered_days_ago: float | None = None
    cancelled_days_ago: float | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    eta_days_from_now: int | None = None


DEMO_ORDERS = (
    DemoOrder("SD-100001", "C-0001", "pending", (("desk-lamp", 1), ("led-bulb", 1)), 0.1),
    DemoOrder("SD-100002", "C-0001", "paid", (("yoga-mat", 1), ("yoga-blocks", 1)), 1.0, paid_days_ago=1.0),
    DemoOrder(
        "SD-100003",
        "C-0002",
        "shipped",
        (("rain-jacket", 1), ("merino-tee", 2)),
        4.0,
        paid_days_ago=4.0,
        packed_days_ago=3.0,
        shipped_days_ago=2.0,
        carrier="DHL",
        tracking_number="JJD014600003",
        eta_days_from_now=1,
    ),
    DemoOrder(
        "SD-100004",
        "C-0002",
        "delivered",
        (("running-shoe", 1), ("running-socks", 1)),
        10.0,
        paid_days_ago=10.0,
        packed_days_ago=9.0,
        shipped_days_ago=8.0,
        delivered_days_ago=5.0,
        carrier="DPD",
        tracking_number="01505553100004",
    ),
    DemoOrder(
        "SD-100005",
        "C-0003",
        "delivered",
        (("leather-tote", 1),),
        65.0,
        paid_days_ago=65.0,
        packed_days_ago=64.0,
        shipped_days_ago=63.0,
        delivered_days_ago=60.0,
        carrier="UPS",
        tracking_number="1Z999AA10100005",
    ),
    DemoOrder(
        "SD-100006", "C-0003", "cancelled", (("throw", 1), ("cushion", 2)), 15.0, cancelled_days_ago=14.0
    ),
    DemoOrder(
        "SD-100007",
        "C-0004",
        "returned",
        (("white-sneaker", 1),),
        25.0,
        paid_days_ago=25.0,
        packed_days_ago=24.0,
        shipped_days_ago=23.0,
        delivered_days_ago=20.0,
        carrier="GLS",
        tracking_number="GL7700100007",
    ),
    DemoOrder(
        "SD-100008",
        "C-0004",
        "delivered",
        (("usb-c-hub", 1), ("laptop-stand", 1)),
        14.0,
        paid_days_ago=14.0,
        packed_days_ago=13.0,
        shipped_days_ago=12.0,
        delivered_days_ago=10.0,
        carrier="DHL",
        tracking_number="JJD014600008",
    ),
    DemoOrder(
        "SD-100009",
        "C-0005",
        "packed",
        (("hoodie", 1), ("beanie", 1)),
        1.0,
        paid_days_ago=1.0,
        packed_days_ago=0.2,
    ),
)
# SD-100007's return and refund (created before any other, so their ids are stable).
DEMO_RETURN_ID = "RT-200001"
DEMO_REFUND_ID = "RF-300001"
