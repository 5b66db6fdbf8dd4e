"""ShopDesk actions package."""
