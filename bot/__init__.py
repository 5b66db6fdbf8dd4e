"""ShopDesk's faces for people: the shop page with the widget, the agent console, the handoff service."""
