"""Errors of the sentiment package.

SentimentError
 └── SentimentModelError   a trained model (or the encoder it builds on) that cannot be loaded or used: the message
                           names the file and what is wrong with it.
"""

from __future__ import annotations


class SentimentError(Exception):
    """Base of every error the sentiment package raises."""


class SentimentModelError(SentimentError):
    """A model directory, ``config.json``, weights file or encoder file that is missing, corrupt or foreign."""
