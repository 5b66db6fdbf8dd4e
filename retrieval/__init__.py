"""ShopDesk retrieval package."""
