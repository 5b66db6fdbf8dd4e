"""Offline work on the responder: build its data set, fine-tune, calibrate, evaluate. Nothing here runs in the
action server, and the serving package (:mod:`retrieval.responder`) never imports it.

    python -m retrieval.responder.training.build_data --out var/responder-data --index-dir var/index
    python -m retrieval.responder.training.train --config cpu_small --data var/responder-data --out var/responder
    python -m retrieval.responder.training.evaluate --data var/responder-data --checkpoint var/responder --base

Importing this package is cheap (nothing is imported here); torch loads when training starts.
"""
