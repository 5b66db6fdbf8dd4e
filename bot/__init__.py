"""ShopDesk's faces for people: the shop page with the widget, the agent console, the handoff service.

Keep this file free of imports: the Rasa server (Python 3.10, its own environment) loads
`bot.rasa_channel` through it.
"""
