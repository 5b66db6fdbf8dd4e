"""A sliding-window rate limiter per key (agent, session, client address)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        return hits

    def exceeded(self, key: str) -> bool:
        """Whether ``key`` used up its budget (without counting this call)."""
        return len(self._recent(key)) >= self.limit

    def hit(self, key: str) -> None:
        self._recent(key).append(self.clock())

    def allow(self, key: str) -> bool:
        """Counts one use of ``key``; False (and not counted) once the budget is used up."""
        hits = self._recent(key)
        if len(hits) >= self.limit:
            return False
        hits.append(self.clock())
        if len(self._hits) > 10_000:  # forget idle keys
            for stale in [k for k, v in self._hits.items() if not v]:
                del self._hits[stale]
        return True
