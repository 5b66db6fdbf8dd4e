"""The held-out realistic shopper conversations: loading (cases.py) and replay + judging (judge.py)."""
