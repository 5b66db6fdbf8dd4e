"""Console login throttling: per client address and per agent account.

- per address: at most ``address_limit`` failed logins per ``address_window_s`` (behind a proxy the address
  comes from ``BOT_TRUSTED_PROXIES`` / X-Forwarded-For, see ``bot.clients``), so one client cannot try many
  accounts;
- per account: after ``free_failures`` failures the account is locked for ``base_lock_s``, doubling with every
  further failure up to ``max_lock_s``; a successful login resets it. So guessing one agent's password is slow
  from any number of addresses, while an attacker behind the same proxy as the agents locks out at most the
  accounts they attack, for a bounded time — never everyone behind that address.

Only configured agents get account state, so unknown emails cannot grow memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.ratelimit import RateLimiter


@dataclass
class _Account:
    failures: int = 0
    locked_until: float = 0.0


class LoginGuard:
    def __init__(
        self,
        accounts: frozenset[str],
        *,
        address_limit: int = 10,
        address_window_s: float = 60.0,
        free_failures: int = 5,
        base_lock_s: float = 30.0,
        max_lock_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.accounts = accounts
        self.clock = clock
        self.free_failures = free_failures
        self.base_lock_s = base_lock_s
        self.max_lock_s = max_lock_s
        self._addresses = RateLimiter(address_limit, address_window_s, clock=clock)
        self._state: dict[str, _Account] = {}

    def retry_after(self, address: str, account: str) -> float:
        """Seconds until a login from ``address`` for ``account`` may be tried; 0 when it may now."""
        if self._addresses.exceeded(address):
            return self._addresses.window_s
        state = self._state.get(account)
        if state is None:
            return 0.0
        return max(0.0, state.locked_until - self.clock())

    def failed(self, address: str, account: str) -> None:
        self._addresses.hit(address)
        if account not in self.accounts:
            return
        state = self._state.setdefault(account, _Account())
        state.failures += 1
        extra = state.failures - self.free_failures
        if extra >= 0:
            state.locked_until = self.clock() + min(self.max_lock_s, self.base_lock_s * 2**extra)

    def succeeded(self, account: str) -> None:
        self._state.pop(account, None)
