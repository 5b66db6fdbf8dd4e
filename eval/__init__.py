"""Evaluation sets that are never trained on (see eval/conversations/README.md)."""
