"""The demo shop: the catalog generator (``catalog_gen``), the seed (``seed``) and bulk bench data (``bulk``).

Offline tools and fixtures: the action server imports ``shop.demo.seed`` only when ``SHOP_DB_SEED`` asks it to
seed a missing DB (``shop.open_store``), lazily; nothing imports this package at start-up.
"""
