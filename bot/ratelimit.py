"""A sliding-window rate limiter per key (agent, session, client address) with bounded memory.

Python 3.10-compatible and standard library only: the Rasa socket.io channel uses it too. Keys are kept in
least-recently-used order; a key idle for a whole window is forgotten on the next call (amortised O(1)), and
at most ``max_keys`` keys are kept (the least recently used one is dropped first), so a flood of distinct
keys cannot grow memory without bound.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self,
        limit: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 20_000,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._hits)

    def _evict(self, now: float) -> None:
        while self._hits:
            oldest_key, oldest = next(iter(self._hits.items()))
            idle = not oldest or oldest[-1] <= now - self.window_s
            if not idle and len(self._hits) <= self.max_keys:
                break
            del self._hits[oldest_key]

    def _recent(self, key: str) -> deque[float]:
        now = self.clock()
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        else:
            self._hits.move_to_end(key)
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        self._evict(now)
        if key not in self._hits:  # evicted as idle just now: start afresh
            self._hits[key] = hits
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
        return True


class MessageBudgets:
    """A shopper's two message budgets: ``rate_limit`` per session and ``client_rate_limit`` per client address,
    per ``window_s``. The Rasa channel enforces them; the bot service's edge feed mirrors them (``bot.edge_feed``)."""

    def __init__(
        self,
        rate_limit: int,
        client_rate_limit: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = RateLimiter(rate_limit, window_s, clock)
        self.clients = RateLimiter(client_rate_limit, window_s, clock)

    def allow(self, session_id: str, client: str) -> bool:
        """Counts one message against both budgets; False (nothing counted for the client) when either is spent."""
        if self.clients.exceeded(client):
            return False
        if not self.sessions.allow(session_id):
            return False
        self.clients.hit(client)
        return True
