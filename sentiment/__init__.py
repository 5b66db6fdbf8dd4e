"""Sentiment of shoppers' messages and reviews, English and Chinese (issue 14).

`sentiment.types` is the contract: a :class:`~sentiment.types.Scorer` turns texts into
:class:`~sentiment.types.Prediction` (label negative / neutral / positive and a score in [-1, 1]).
`sentiment.lexicon` is the lexicon baseline (VADER for English, snownlp for Chinese); the fine-tuned model,
its training and the `make sentiment-predict` command live beside them. Imports only its libraries.
"""
