"""Writes the demo catalog ``training_data/catalog/demo_products.csv`` deterministically.

    python -m shop.demo.catalog_gen [--out training_data/catalog/demo_products.csv]

Columns: id,title,description,brand,category,price,currency,stock,attributes,image_url (price in major units
with two decimals, attributes a JSON object). Descriptions are written to answer the questions shoppers ask
("is this lamp dimmable?", "what sizes does it come in?", "is it waterproof?").
``BUNDLES`` (keys of products bought together) drive the seed's co-purchase structure.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.catalog import FIELDS as CATALOG_FIELDS
from shop.policy import CURRENCY

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "training_data" / "catalog" / "demo_products.csv"
COLUMNS = CATALOG_FIELDS  # the catalog format retrieval imports
FIRST_ID = 1001
SEED = 20240601

SHOE_SIZES = [str(s) for s in range(36, 47)]
APPAREL_SIZES = ["XS", "S", "M", "L", "XL", "XXL"]


@dataclass(frozen=True)
class Spec:
    key: str
    title: str
    brand: str
    category: str
    price: str
    blurb: str
    attributes: dict[str, object] = field(default_factory=dict)
    stock: int | None = None  # None: drawn from the seeded RNG


SPECS: tuple[Spec, ...] = (
    # --- bags ---------------------------------------------------------------------------------
    Spec(
        "laptop-backpack",
        "Metro 20L Laptop Backpack",
        "Northpack",
        "bags",
        "89.00",
        "An everyday commuter backpack with a padded sleeve that fits laptops up to 15.6 inches and a "
        "luggage strap for trolley handles.",
        {
            "color": ["charcoal", "navy", "olive"],
            "material": "recycled polyester",
            "capacity_l": 20,
            "laptop_max_in": 15.6,
            "water_resistant": True,
            "waterproof": False,
        },
    ),
    Spec(
        "rolltop-backpack",
        "Rolltop 25L Waterproof Backpack",
        "Northpack",
        "bags",
        "109.00",
        "A fully waterproof roll-top pack with welded seams for cycling and hiking in the rain; fits a "
        "13-inch laptop.",
        {
            "color": ["black", "mustard"],
            "material": "TPU-coated nylon",
            "capacity_l": 25,
            "waterproof": True,
            "laptop_max_in": 13,
        },
    ),
    Spec(
        "leather-tote",
        "Carla Leather Tote",
        "Valeur",
        "bags",
        "149.00",
        "A structured tote in full-grain leather with an inner zip pocket and a magnetic closure; big "
        "enough for an A4 folder.",
        {"color": ["cognac", "black"], "material": "full-grain leather", "closure": "magnetic"},
    ),
    Spec(
        "weekender",
        "Weekender Duffel 45L",
        "Northpack",
        "bags",
        "129.00",
        "A cabin-size duffel (55 x 35 x 25 cm) that fits most airlines' hand-luggage limits, with a "
        "separate shoe compartment.",
        {"color": ["sand", "black"], "material": "waxed canvas", "capacity_l": 45, "cabin_size": True},
    ),
    Spec(
        "crossbody",
        "Mini Crossbody Bag",
        "Valeur",
        "bags",
        "59.00",
        "A small crossbody bag with an adjustable strap, room for a phone, keys and a card wallet.",
        {
            "color": ["black", "taupe", "burgundy"],
            "material": "vegan leather",
            "strap": "adjustable 60-120 cm",
        },
    ),
    Spec(
        "laptop-sleeve",
        'Felt Laptop Sleeve 14"',
        "Studio Nord",
        "bags",
        "34.90",
        "A wool-felt sleeve that protects 13 and 14-inch laptops, with a front pocket for a charger.",
        {"color": ["grey", "anthracite"], "material": "wool felt", "laptop_max_in": 14},
    ),
    Spec(
        "gym-bag",
        "Gym Duffel 30L",
        "Pulse",
        "bags",
        "44.90",
        "A gym duffel with a ventilated shoe compartment and a wet pocket for towels and swimwear.",
        {"color": ["black", "teal"], "material": "polyester", "capacity_l": 30, "water_resistant": True},
    ),
    Spec(
        "wallet",
        "Slim Card Wallet",
        "Valeur",
        "bags",
        "29.90",
        "A slim wallet for up to eight cards with RFID-blocking lining and a note slot.",
        {"color": ["black", "cognac"], "material": "leather", "rfid_blocking": True, "cards": 8},
    ),
    Spec(
        "packing-cubes",
        "Packing Cubes Set of 4",
        "Northpack",
        "bags",
        "24.90",
        "Four zipped packing cubes in different sizes that keep a suitcase or duffel organised.",
        {"color": ["grey"], "material": "ripstop nylon", "pieces": 4},
    ),
    Spec(
        "belt-bag",
        "Belt Bag",
        "Pulse",
        "bags",
        "27.90",
        "A belt bag to wear round the waist or across the body, with a water-resistant zip.",
        {"color": ["black", "sage"], "material": "recycled nylon", "water_resistant": True},
    ),
    # --- shoes --------------------------------------------------------------------------------
    Spec(
        "running-shoe",
        "Stride Running Shoe",
        "Pulse",
        "shoes",
        "119.00",
        "A cushioned road-running shoe with an 8 mm drop for daily training and long runs; it runs true to "
        "size.",
        {
            "color": ["black/white", "blue", "coral"],
            "sizes": SHOE_SIZES,
            "drop_mm": 8,
            "fit": "true to size",
            "waterproof": False,
        },
    ),
    Spec(
        "trail-shoe",
        "Ridge Trail Running Shoe",
        "Pulse",
        "shoes",
        "139.00",
        "A trail shoe with 5 mm lugs and a rock plate for grip on mud and loose ground; water-resistant upper "
        "but not waterproof.",
        {
            "color": ["olive", "black"],
            "sizes": SHOE_SIZES,
            "drop_mm": 6,
            "waterproof": False,
            "water_resistant": True,
        },
    ),
    Spec(
        "white-sneaker",
        "Classic White Leather Sneaker",
        "Valeur",
        "shoes",
        "99.00",
        "A minimal white sneaker in smooth leather with a stitched rubber cupsole; it runs half a size "
        "large, so we suggest sizing down.",
        {"color": ["white"], "sizes": SHOE_SIZES, "material": "leather", "fit": "half a size large"},
    ),
    Spec(
        "chelsea-boot",
        "Chelsea Boot",
        "Valeur",
        "shoes",
        "169.00",
        "A suede Chelsea boot with elastic side panels and a lightly treaded rubber sole.",
        {
            "color": ["brown suede", "black suede"],
            "sizes": SHOE_SIZES,
            "material": "suede",
            "waterproof": False,
        },
    ),
    Spec(
        "sandal",
        "Cork Footbed Sandal",
        "Studio Nord",
        "shoes",
        "64.90",
        "A two-strap sandal with a contoured cork footbed and adjustable buckles.",
        {"color": ["tan", "black"], "sizes": SHOE_SIZES, "material": "cork and leather"},
    ),
    Spec(
        "slipper",
        "Wool Slippers",
        "Studio Nord",
        "shoes",
        "39.90",
        "Boiled-wool house slippers with a non-slip sole; sizes are in pairs (36-37, 38-39 ...).",
        {
            "color": ["grey", "oatmeal"],
            "sizes": ["36-37", "38-39", "40-41", "42-43", "44-45", "46-47"],
            "material": "boiled wool",
        },
    ),
    Spec(
        "running-socks",
        "Running Socks 3-Pack",
        "Pulse",
        "shoes",
        "17.90",
        "Three pairs of cushioned, blister-resistant running socks with a seamless toe.",
        {
            "color": ["white", "black"],
            "sizes": ["S (36-38)", "M (39-42)", "L (43-46)"],
            "material": "recycled polyamide",
        },
    ),
    Spec(
        "insoles",
        "Comfort Insoles",
        "Pulse",
        "shoes",
        "24.90",
        "Cushioned insoles with arch support that can be trimmed to fit any shoe.",
        {"sizes": ["36-38", "39-41", "42-44", "45-47"], "material": "memory foam"},
    ),
    Spec(
        "hiking-boot",
        "Alpine Hiking Boot",
        "Northpack",
        "shoes",
        "179.00",
        "A mid-cut hiking boot with a waterproof, breathable membrane and a grippy lugged sole.",
        {"color": ["brown", "grey"], "sizes": SHOE_SIZES, "waterproof": True, "material": "nubuck leather"},
    ),
    Spec(
        "shoe-care",
        "Shoe Care Kit",
        "Valeur",
        "shoes",
        "19.90",
        "Cleaner, protective spray and a soft brush for leather, suede and canvas shoes.",
        {"pieces": 3},
    ),
    # --- apparel ------------------------------------------------------------------------------
    Spec(
        "merino-tee",
        "Merino T-Shirt",
        "Northpack",
        "apparel",
        "54.90",
        "A lightweight merino-wool T-shirt that stays fresh on long hikes and travel days; machine "
        "washable at 30°C.",
        {
            "color": ["black", "slate", "forest"],
            "sizes": APPAREL_SIZES,
            "material": "100% merino wool",
            "care": "machine wash 30°C",
        },
    ),
    Spec(
        "hoodie",
        "Organic Cotton Hoodie",
        "Studio Nord",
        "apparel",
        "69.90",
        "A heavyweight brushed-cotton hoodie with a relaxed fit; if you are between sizes, take the smaller "
        "one.",
        {
            "color": ["heather grey", "navy", "oat"],
            "sizes": APPAREL_SIZES,
            "material": "organic cotton",
            "fit": "relaxed",
        },
    ),
    Spec(
        "rain-jacket",
        "Packable Rain Jacket",
        "Northpack",
        "apparel",
        "129.00",
        "A fully waterproof, breathable rain jacket with taped seams that packs into its own pocket.",
        {
            "color": ["yellow", "black", "navy"],
            "sizes": APPAREL_SIZES,
            "waterproof": True,
            "material": "2.5-layer recycled nylon",
        },
    ),
    Spec(
        "down-jacket",
        "Lightweight Down Jacket",
        "Northpack",
        "apparel",
        "189.00",
        "A warm, lightweight jacket with responsibly sourced down that packs into a stuff sack.",
        {
            "color": ["black", "rust"],
            "sizes": APPAREL_SIZES,
            "material": "nylon, 90/10 down",
            "waterproof": False,
        },
        stock=0,
    ),
    Spec(
        "leggings",
        "High-Waist Yoga Leggings",
        "Pulse",
        "apparel",
        "49.90",
        "Squat-proof, high-waisted leggings in a soft stretch fabric with a hidden waistband pocket.",
        {
            "color": ["black", "plum", "sage"],
            "sizes": APPAREL_SIZES,
            "material": "recycled polyamide/elastane",
        },
    ),
    Spec(
        "sports-bra",
        "Medium Support Sports Bra",
        "Pulse",
        "apparel",
        "34.90",
        "A medium-support sports bra for yoga, gym and cycling with removable pads.",
        {"color": ["black", "plum"], "sizes": ["XS", "S", "M", "L", "XL"], "support": "medium"},
    ),
    Spec(
        "running-shorts",
        "Running Shorts",
        "Pulse",
        "apparel",
        "32.90",
        "Light 5-inch running shorts with a built-in liner and a zipped back pocket.",
        {"color": ["black", "blue"], "sizes": APPAREL_SIZES, "inseam_in": 5},
    ),
    Spec(
        "beanie",
        "Merino Beanie",
        "Northpack",
        "apparel",
        "24.90",
        "A warm ribbed merino beanie; one size fits most.",
        {"color": ["charcoal", "rust", "cream"], "sizes": ["one size"], "material": "merino wool"},
    ),
    Spec(
        "chinos",
        "Stretch Chinos",
        "Valeur",
        "apparel",
        "79.00",
        "Slim-fit chinos with a touch of stretch; waist sizes 28-38 in inseam lengths 30, 32 and 34.",
        {
            "color": ["stone", "navy", "olive"],
            "sizes": ["28", "29", "30", "31", "32", "33", "34", "36", "38"],
            "material": "cotton/elastane",
            "fit": "slim",
        },
    ),
    Spec(
        "linen-shirt",
        "Linen Shirt",
        "Valeur",
        "apparel",
        "64.90",
        "A breathable linen shirt with a relaxed cut for warm days.",
        {"color": ["white", "sky blue", "sand"], "sizes": APPAREL_SIZES, "material": "100% linen"},
    ),
    # --- home & lighting ----------------------------------------------------------------------
    Spec(
        "desk-lamp",
        "Arc LED Desk Lamp",
        "Lumo",
        "home & lighting",
        "79.00",
        "An LED desk lamp with an adjustable arm, a touch dimmer with five brightness levels and a "
        "colour temperature you can set from warm to daylight; a USB-C port charges your phone.",
        {
            "color": ["white", "black"],
            "dimmable": True,
            "brightness_levels": 5,
            "wattage_w": 8,
            "color_temperature_k": "2700-6500",
            "bulb": "integrated LED",
        },
    ),
    Spec(
        "floor-lamp",
        "Linen Floor Lamp",
        "Lumo",
        "home & lighting",
        "149.00",
        "A 160 cm floor lamp with a linen shade and an on/off foot switch. It is not dimmable by itself, "
        "but works with a dimmable E27 bulb and a dimmer plug.",
        {
            "color": ["natural", "white"],
            "dimmable": False,
            "bulb": "E27, max 60 W (bulb not included)",
            "height_cm": 160,
        },
    ),
    Spec(
        "bedside-lamp",
        "Touch Bedside Lamp",
        "Lumo",
        "home & lighting",
        "49.90",
        "A small bedside lamp you dim by touching the base (three steps), with a warm 2700 K glow.",
        {
            "color": ["sand", "sage"],
            "dimmable": True,
            "brightness_levels": 3,
            "wattage_w": 5,
            "bulb": "integrated LED",
        },
    ),
    Spec(
        "led-bulb",
        "Smart LED Bulb E27 (2-Pack)",
        "Lumo",
        "home & lighting",
        "29.90",
        "Two dimmable E27 LED bulbs (9 W, like a 60 W bulb) that you can dim and schedule from the app.",
        {"dimmable": True, "wattage_w": 9, "equivalent_w": 60, "socket": "E27", "pieces": 2},
    ),
    Spec(
        "pendant",
        "Rattan Pendant Shade",
        "Studio Nord",
        "home & lighting",
        "89.00",
        "A hand-woven rattan pendant shade, 45 cm across; needs an E27 ceiling fitting and bulb.",
        {"material": "rattan", "diameter_cm": 45, "dimmable": "with a dimmable bulb and wall dimmer"},
    ),
    Spec(
        "candle",
        "Soy Candle Cedar & Fig",
        "Studio Nord",
        "home & lighting",
        "22.90",
        "A soy-wax candle scented with cedar and fig that burns for about 45 hours.",
        {"scent": "cedar & fig", "burn_time_h": 45, "material": "soy wax"},
    ),
    Spec(
        "throw",
        "Wool Throw Blanket",
        "Studio Nord",
        "home & lighting",
        "89.00",
        "A soft lambswool throw, 130 x 170 cm, woven in Portugal.",
        {"color": ["oat", "rust", "grey"], "material": "lambswool", "size_cm": "130 x 170"},
    ),
    Spec(
        "cushion",
        "Linen Cushion Cover",
        "Studio Nord",
        "home & lighting",
        "24.90",
        "A stonewashed linen cushion cover with a hidden zip, 50 x 50 cm (insert not included).",
        {"color": ["oat", "terracotta", "sage"], "material": "linen", "size_cm": "50 x 50"},
    ),
    Spec(
        "string-lights",
        "Outdoor String Lights 10 m",
        "Lumo",
        "home & lighting",
        "39.90",
        "Ten metres of weatherproof (IP65) festoon lights with 15 warm LED bulbs; plug-in with a timer.",
        {"length_m": 10, "waterproof": "IP65", "dimmable": False, "bulbs": 15},
        stock=0,
    ),
    Spec(
        "vase",
        "Stoneware Vase",
        "Studio Nord",
        "home & lighting",
        "34.90",
        "A hand-glazed stoneware vase, 22 cm tall and watertight.",
        {"color": ["speckled white", "moss"], "material": "stoneware", "height_cm": 22},
    ),
    # --- sports -------------------------------------------------------------------------------
    Spec(
        "yoga-mat",
        "Grip Yoga Mat 5mm",
        "Pulse",
        "sports",
        "59.90",
        "A 5 mm natural-rubber yoga mat (183 x 66 cm) with a non-slip surface that grips even when sweaty.",
        {
            "color": ["sage", "black", "lilac"],
            "material": "natural rubber",
            "thickness_mm": 5,
            "size_cm": "183 x 66",
        },
    ),
    Spec(
        "yoga-blocks",
        "Cork Yoga Blocks (Pair)",
        "Pulse",
        "sports",
        "29.90",
        "Two firm cork yoga blocks for support and alignment in standing and seated poses.",
        {"material": "cork", "pieces": 2, "size_cm": "23 x 15 x 7.5"},
    ),
    Spec(
        "yoga-strap",
        "Yoga Strap",
        "Pulse",
        "sports",
        "12.90",
        "A 2.5 m cotton yoga strap with a metal D-ring buckle for stretching.",
        {"color": ["sage", "black"], "material": "cotton", "length_m": 2.5},
    ),
    Spec(
        "water-bottle",
        "Insulated Water Bottle 750 ml",
        "Northpack",
        "sports",
        "29.90",
        "A leak-proof stainless-steel bottle that keeps drinks cold for 24 hours or hot for 12; "
        "dishwasher safe lid.",
        {"color": ["black", "sage", "coral"], "capacity_ml": 750, "material": "stainless steel"},
    ),
    Spec(
        "resistance-bands",
        "Resistance Band Set",
        "Pulse",
        "sports",
        "24.90",
        "Five latex-free resistance bands from extra light to extra heavy, with a carry bag.",
        {"pieces": 5, "material": "TPE (latex-free)"},
    ),
    Spec(
        "dumbbells",
        "Adjustable Dumbbell 2-12 kg",
        "Pulse",
        "sports",
        "129.00",
        "One adjustable dumbbell that dials from 2 to 12 kg in 2 kg steps; sold individually.",
        {"weight_kg": "2-12", "pieces": 1},
    ),
    Spec(
        "foam-roller",
        "Foam Roller",
        "Pulse",
        "sports",
        "27.90",
        "A medium-firm 33 cm foam roller with a textured surface for recovery after training.",
        {"length_cm": 33, "firmness": "medium"},
    ),
    Spec(
        "jump-rope",
        "Speed Jump Rope",
        "Pulse",
        "sports",
        "14.90",
        "A ball-bearing speed rope with an adjustable 3 m steel cable.",
        {"length_m": 3, "adjustable": True},
    ),
    Spec(
        "meditation-cushion",
        "Meditation Cushion",
        "Studio Nord",
        "sports",
        "44.90",
        "A buckwheat-filled meditation cushion with a washable cotton cover and a carry handle.",
        {"color": ["oat", "indigo"], "material": "cotton, buckwheat hulls"},
    ),
    Spec(
        "gym-towel",
        "Quick-Dry Gym Towel",
        "Pulse",
        "sports",
        "16.90",
        "A light microfibre towel that dries fast and packs small, 40 x 80 cm.",
        {"color": ["grey", "teal"], "material": "microfibre", "size_cm": "40 x 80"},
    ),
    # --- electronics accessories --------------------------------------------------------------
    Spec(
        "usb-c-hub",
        "7-in-1 USB-C Hub",
        "Voltix",
        "electronics accessories",
        "49.90",
        "A USB-C hub with HDMI (4K 60 Hz), two USB-A ports, SD and microSD slots and 100 W pass-through "
        "charging; works with Mac, Windows and iPad.",
        {
            "ports": ["HDMI", "2x USB-A", "SD", "microSD", "USB-C PD 100 W"],
            "compatible": ["Mac", "Windows", "iPad"],
        },
    ),
    Spec(
        "charger",
        "65W USB-C GaN Charger",
        "Voltix",
        "electronics accessories",
        "44.90",
        "A compact 65 W GaN charger with two USB-C ports that charges a laptop and a phone at once.",
        {"wattage_w": 65, "ports": ["2x USB-C"], "plug": "EU"},
    ),
    Spec(
        "cable",
        "Braided USB-C Cable 2 m",
        "Voltix",
        "electronics accessories",
        "14.90",
        "A braided 2 m USB-C to USB-C cable rated for 100 W charging and 480 Mbit/s data.",
        {"length_m": 2, "wattage_w": 100, "color": ["black", "white"]},
    ),
    Spec(
        "power-bank",
        "Power Bank 10,000 mAh",
        "Voltix",
        "electronics accessories",
        "39.90",
        "A pocket power bank with 20 W fast charging that charges most phones about twice; allowed in "
        "hand luggage.",
        {"capacity_mah": 10000, "wattage_w": 20, "ports": ["USB-C", "USB-A"]},
    ),
    Spec(
        "earbuds",
        "Wireless Earbuds",
        "Voltix",
        "electronics accessories",
        "79.00",
        "Bluetooth 5.3 earbuds with 7 hours of playback (28 with the case) and IPX4 sweat resistance.",
        {"color": ["black", "white"], "battery_h": 7, "waterproof": "IPX4 (sweat and splash resistant)"},
    ),
    Spec(
        "phone-case",
        "Recycled Phone Case",
        "Voltix",
        "electronics accessories",
        "24.90",
        "A slim, drop-tested case made from recycled plastic; compatible with wireless charging.",
        {"color": ["black", "clay", "sage"], "models": ["iPhone 14", "iPhone 15", "Pixel 8", "Galaxy S24"]},
    ),
    Spec(
        "laptop-stand",
        "Aluminium Laptop Stand",
        "Voltix",
        "electronics accessories",
        "49.90",
        "A foldable aluminium stand that lifts laptops from 10 to 17 inches to eye level, six heights.",
        {"material": "aluminium", "laptop_max_in": 17, "adjustable_heights": 6},
    ),
    Spec(
        "wireless-charger",
        "Wireless Charging Pad",
        "Voltix",
        "electronics accessories",
        "29.90",
        "A 15 W Qi wireless charging pad for phones and earbuds; charges through cases up to 5 mm.",
        {"wattage_w": 15, "standard": "Qi"},
    ),
    Spec(
        "headphones",
        "Over-Ear Noise-Cancelling Headphones",
        "Voltix",
        "electronics accessories",
        "199.00",
        "Over-ear headphones with active noise cancelling and 35 hours of battery; they fold flat for travel.",
        {"color": ["black", "sand"], "battery_h": 35, "noise_cancelling": True},
        stock=0,
    ),
    Spec(
        "sports-armband",
        "Running Phone Armband",
        "Pulse",
        "sports",
        "19.90",
        "A sweat-resistant armband for phones up to 6.7 inches, with a key pocket.",
        {"color": ["black"], "phone_max_in": 6.7},
    ),
)

# Things bought together; the seed draws orders mostly from within one bundle.
BUNDLES: tuple[tuple[str, ...], ...] = (
    ("yoga-mat", "yoga-blocks", "yoga-strap", "leggings", "meditation-cushion", "gym-towel"),
    ("running-shoe", "running-socks", "running-shorts", "water-bottle", "sports-armband", "insoles"),
    ("trail-shoe", "hiking-boot", "rain-jacket", "rolltop-backpack", "merino-tee", "water-bottle"),
    ("laptop-backpack", "laptop-sleeve", "usb-c-hub", "laptop-stand", "charger", "desk-lamp"),
    ("phone-case", "charger", "cable", "wireless-charger", "power-bank", "earbuds"),
    ("throw", "cushion", "candle", "bedside-lamp", "led-bulb", "slipper", "vase"),
    ("desk-lamp", "led-bulb", "floor-lamp", "pendant", "bedside-lamp"),
    ("weekender", "packing-cubes", "wallet", "power-bank", "crossbody", "belt-bag"),
    ("gym-bag", "resistance-bands", "dumbbells", "foam-roller", "jump-rope", "gym-towel", "sports-bra"),
    (
        "white-sneaker",
        "chinos",
        "linen-shirt",
        "leather-tote",
        "shoe-care",
        "chelsea-boot",
        "hoodie",
        "beanie",
    ),
    ("down-jacket", "beanie", "hiking-boot", "merino-tee"),
    ("headphones", "earbuds", "string-lights", "sandal"),
)


def product_ids() -> dict[str, str]:
    """key → id (``P-1001`` …) in catalog order."""
    return {spec.key: f"P-{FIRST_ID + i}" for i, spec in enumerate(SPECS)}


def bundle_product_ids() -> list[list[str]]:
    ids = product_ids()
    return [[ids[key] for key in bundle] for bundle in BUNDLES]


def _facts(attrs: dict[str, object]) -> list[str]:
    facts = []
    if "sizes" in attrs:
        facts.append(f"Sizes: {', '.join(map(str, attrs['sizes']))}.")  # type: ignore[call-overload]
    if "color" in attrs:
        facts.append(f"Colours: {', '.join(map(str, attrs['color']))}.")  # type: ignore[call-overload]
    if "material" in attrs:
        facts.append(f"Material: {attrs['material']}.")
    dimmable = attrs.get("dimmable")
    if dimmable is True:
        facts.append("Dimmable: yes.")
    elif dimmable is False:
        facts.append("Dimmable: no.")
    elif isinstance(dimmable, str):
        facts.append(f"Dimmable: {dimmable}.")
    if "wattage_w" in attrs:
        facts.append(f"Power: {attrs['wattage_w']} W.")
    waterproof = attrs.get("waterproof")
    if waterproof is True:
        facts.append("Waterproof: yes.")
    elif waterproof is False:
        facts.append("Waterproof: no" + (" (water-resistant)." if attrs.get("water_resistant") else "."))
    elif isinstance(waterproof, str):
        facts.append(f"Waterproof: {waterproof}.")
    if "care" in attrs:
        facts.append(f"Care: {attrs['care']}.")
    return facts


def build_rows(seed: int = SEED) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i, spec in enumerate(SPECS):
        pid = f"P-{FIRST_ID + i}"
        stock = spec.stock if spec.stock is not None else rng.randint(4, 120)
        rows.append(
            {
                "id": pid,
                "title": spec.title,
                "description": " ".join([spec.blurb, *_facts(spec.attributes)]),
                "brand": spec.brand,
                "category": spec.category,
                "price": spec.price,
                "currency": CURRENCY,
                "stock": str(stock),
                "attributes": json.dumps(spec.attributes, ensure_ascii=False, sort_keys=True),
                "image_url": f"/static/products/{pid}.svg",
            }
        )
    return rows


def write_catalog(out: Path, rows: Sequence[dict[str, str]]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV to write (default: %(default)s)")
    args = parser.parse_args(argv)
    rows = build_rows()
    write_catalog(args.out, rows)
    print(f"wrote {len(rows)} products to {args.out}")  # noqa: T201 (CLI output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
