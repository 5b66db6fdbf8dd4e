"""The bot web service on a free port, in a thread of its own, for browser tests that need no Rasa (a fake one)."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from bot.app import create_app
from bot.settings import Settings
from scripts.stack import free_port


@contextmanager
def serve_bot(settings: Settings, rasa: Any, *, sync: bool = True) -> Iterator[str]:
    """Serve ``create_app(settings, rasa)`` on a free port (``settings.port`` is replaced); yields its base URL.
    Close every browser that talks to it first, so no console websocket holds its shutdown."""
    port = free_port()
    runner = web.AppRunner(create_app(dataclasses.replace(settings, port=port), rasa=rasa, sync=sync))
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(30), "the bot service did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
