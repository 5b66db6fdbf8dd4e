"""One background loop for the bot service's periodic jobs (tracker sync, queue timeouts)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


async def run_every(interval_s: float, job: Callable[[], Awaitable[object]], name: str) -> None:
    """Run ``job`` every ``interval_s`` until cancelled; a failing round is logged and the next one runs."""
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:  # keep going whatever one round did
            logger.exception("%s round failed", name)
        await asyncio.sleep(interval_s)
