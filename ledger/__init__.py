"""ShopDesk ledger package."""
