"""Analytics from Rasa's event broker (issue 14): events -> tables -> metrics, feedback themes, CSV export.

Reads the broker's event stream (never the tracker store); owns its own tables. Imports sentiment and
retrieval's encoders at most, never actions or bot.
"""
