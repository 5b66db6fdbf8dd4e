"""A Redis lock store that serialises a conversation across Rasa instances: every state change is one Lua script.

Selected in an endpoints file (`type: rasa_addons.lock_store.AtomicRedisLockStore`, the keys of Rasa's
`type: redis` lock store: rasa_addons/lock_config.py). Rasa holds `lock_store.lock(conversation_id)` around each
message, reminder and tracker-changing API call, so two messages of one conversation never run at once.

Why not Rasa's `RedisLockStore`: it keeps a conversation's whole TicketLock as one JSON value and changes it by
read-modify-write from Python (get, change, set: three round trips, nothing atomic), so between two instances
(docs/benchmarks.md, "Scale (issue 15): the conversation lock", has the races and the measurements):

1. issue_ticket: two instances read the same lock, both append ticket N+1 and both save: one ticket is lost and
   both hold number N+1, so both see `now_serving == N+1` and run at once;
2. finish_serving / update_lock save a lock read before another instance's issue_ticket saved: that ticket is
   lost, its holder waits behind tickets that are gone, then (once cleanup deletes the lock) fails with
   LockError: the message is dropped;
3. cleanup checks "no one waiting" and then deletes: a ticket issued in between is deleted with the lock, and
   ticket numbers restart at 0, so a later message can get the number an earlier one still holds;
4. expiry is decided with each instance's own clock (`time.time()`), so skewed clocks expire tickets early/late.

Here a conversation's lock is three keys, changed only inside Lua scripts (atomic in Redis):
`…:n` a counter (INCR gives the next ticket: FIFO order), `…:q` a sorted set of live tickets by number, `…:e` a
sorted set of the same tickets by expiry (Redis's own clock, in ms). Issue = purge expired + INCR + add to both;
"my turn" = purge expired + my ticket is the lowest left; release = remove mine (+ delete the keys when none is
left). A ticket expires `lock_lifetime` seconds after it is issued (Rasa's TICKET_LOCK_LIFETIME, 60 s), so a
crashed instance delays a conversation by at most that; the queue keys expire with their last ticket and the
counter `counter_ttl_s` later (so a number is never reissued while an overdue holder may still release it).
Redis errors become LockError naming host:port.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Optional, Text

import redis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from rasa_addons.lock_config import LockStoreConfig, parse_lock_config

logger = logging.getLogger(__name__)

# The n-th ticket in line asks "my turn?" every min(n, MAX_POLL_FACTOR) poll intervals: the next in line answers
# quickly, a long queue does not flood Redis (and the Rasa process) with questions.
MAX_POLL_FACTOR = 8

# KEYS: queue, expiry. Removes every ticket whose expiry (ms, Redis's clock) has passed; returns Redis's now (ms).
_PURGE = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, ticket in ipairs(dead) do
  redis.call('ZREM', KEYS[1], ticket)
  redis.call('ZREM', KEYS[2], ticket)
end
"""

# KEYS: queue, expiry, counter. ARGV: lifetime ms, counter ttl ms. Returns {ticket, expires ms}.
ISSUE_SCRIPT = (
    _PURGE
    + """
local lifetime = tonumber(ARGV[1])
local ticket = redis.call('INCR', KEYS[3])
local expires = now + lifetime
redis.call('ZADD', KEYS[1], ticket, ticket)
redis.call('ZADD', KEYS[2], expires, ticket)
for i = 1, 2 do
  if redis.call('PTTL', KEYS[i]) < lifetime then redis.call('PEXPIRE', KEYS[i], lifetime) end
end
redis.call('PEXPIRE', KEYS[3], math.max(tonumber(ARGV[2]), 2 * lifetime))
return {ticket, expires}
"""
)

# KEYS: queue, expiry. ARGV: ticket. Returns 0 (its turn), n > 0 (n live tickets ahead) or -1 (gone: expired).
TURN_SCRIPT = (
    _PURGE
    + """
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if not rank then return -1 end
return rank
"""
)

# KEYS: queue, expiry. ARGV: ticket. Removes it; deletes both keys when no live ticket is left. Returns how many are.
RELEASE_SCRIPT = (
    _PURGE
    + """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local left = redis.call('ZCARD', KEYS[1])
if left == 0 then redis.call('DEL', KEYS[1], KEYS[2]) end
return left
"""
)

# KEYS: queue, expiry. Returns the live tickets with their expiry, in order: {t1, e1, t2, e2, ...}.
READ_SCRIPT = (
    _PURGE
    + """
local out = {}
for _, ticket in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  table.insert(out, ticket)
  table.insert(out, redis.call('ZSCORE', KEYS[2], ticket) or '0')
end
return out
"""
)


class LockStoreUnavailable(LockError):
    """Redis did not answer (down, wrong address, timeout); the message names host:port."""


class AtomicRedisLockStore(LockStore):
    """Ticket locks in Redis, each change one Lua script; FIFO per conversation, safe across Rasa instances."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **settings: Any) -> None:
        values: dict[str, Any] = {}
        if endpoint_config is not None:
            values.update(endpoint_config.kwargs)
            if endpoint_config.url is not None:
                values["url"] = endpoint_config.url
        values.update(settings)
        self.config: LockStoreConfig = parse_lock_config(values)
        self.red = redis.StrictRedis(
            host=self.config.host,
            port=self.config.port,
            db=self.config.db,
            username=self.config.username,
            password=self.config.password,
            ssl=self.config.use_ssl,
            ssl_certfile=self.config.ssl_certfile,
            ssl_keyfile=self.config.ssl_keyfile,
            ssl_ca_certs=self.config.ssl_ca_certs,
            socket_timeout=self.config.socket_timeout,
            socket_connect_timeout=self.config.socket_timeout,
        )
        self._issue = self.red.register_script(ISSUE_SCRIPT)
        self._turn = self.red.register_script(TURN_SCRIPT)
        self._release = self.red.register_script(RELEASE_SCRIPT)
        self._read = self.red.register_script(READ_SCRIPT)
        self._call(self.red.ping)  # fail at start, naming the address, rather than at the first message
        logger.info("Conversation lock store: Redis at %s.", self.config.address)
        super().__init__()

    # --- Redis calls ------------------------------------------------------------------------------------------

    def _call(self, step: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return step(*args, **kwargs)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
            raise LockStoreUnavailable(
                f"The lock store's Redis at {self.config.address} did not answer: {error}"
            ) from error
        except redis.exceptions.RedisError as error:
            raise LockError(f"The lock store's Redis at {self.config.address} failed: {error}") from error

    def _keys(self, conversation_id: Text) -> list[str]:
        return [self.config.key(conversation_id, part) for part in ("q", "e", "n")]

    # --- the LockStore interface ------------------------------------------------------------------------------

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """The next ticket of the conversation (one atomic step: purge expired, INCR, queue with its expiry)."""
        ticket, _expires = self._issue_with_expiry(conversation_id, lock_lifetime)
        return ticket

    def _issue_with_expiry(self, conversation_id: Text, lock_lifetime: float) -> tuple[int, float]:
        if not lock_lifetime > 0:
            raise LockError(f"lock_lifetime={lock_lifetime!r} is not valid: expected seconds > 0")
        lifetime_ms = max(1, int(lock_lifetime * 1000))
        counter_ttl_ms = int(self.config.counter_ttl_s * 1000)
        ticket, expires_ms = self._call(
            self._issue, keys=self._keys(conversation_id), args=[lifetime_ms, counter_ttl_ms]
        )
        logger.debug("Issued ticket %s for conversation '%s'.", ticket, conversation_id)
        return int(ticket), int(expires_ms) / 1000.0

    def turn(self, conversation_id: Text, ticket: int) -> int:
        """0 when `ticket` may run now, n > 0 when n live tickets are ahead of it, -1 when it expired."""
        return int(self._call(self._turn, keys=self._keys(conversation_id)[:2], args=[ticket]))

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: Text,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: Optional[float] = None,
    ) -> AsyncGenerator[TicketLock, None]:
        """Hold the conversation's lock: take a ticket, wait for its turn (the next in line asks every
        `wait_time_in_seconds`, default the store's poll_interval_s), release it whatever happens."""
        ticket, expires = self._issue_with_expiry(conversation_id, lock_lifetime)
        try:
            await self._wait_for_turn(conversation_id, ticket, wait_time_in_seconds)
            yield TicketLock(conversation_id, deque([Ticket(ticket, expires)]))
        finally:
            self.cleanup(conversation_id, ticket)

    async def _wait_for_turn(self, conversation_id: Text, ticket: int, wait_s: Optional[float]) -> None:
        interval = self.config.poll_interval_s if wait_s is None else wait_s
        while True:
            ahead = self.turn(conversation_id, ticket)
            if ahead == 0:
                logger.debug("Acquired lock for conversation '%s' (ticket %s).", conversation_id, ticket)
                return
            if ahead < 0:
                raise LockError(
                    f"Could not acquire lock for conversation_id '{conversation_id}': ticket {ticket} expired "
                    f"while {self.__class__.__name__} waited for the tickets ahead of it."
                )
            logger.debug("Ticket %s of '%s' waits behind %s.", ticket, conversation_id, ahead)
            await asyncio.sleep(interval * min(ahead, MAX_POLL_FACTOR))

    async def _acquire_lock(
        self, conversation_id: Text, ticket: int, wait_time_in_seconds: float
    ) -> TicketLock:
        """Rasa's hook, kept for callers of the base class's protocol."""
        await self._wait_for_turn(conversation_id, ticket, wait_time_in_seconds)
        lock = self.get_lock(conversation_id)
        return lock if lock is not None else TicketLock(conversation_id)

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        """A snapshot of the conversation's live tickets (None without any). Read-only: see save_lock."""
        flat = self._call(self._read, keys=self._keys(conversation_id)[:2])
        if not flat:
            return None
        tickets = [Ticket(int(flat[i]), int(float(flat[i + 1])) / 1000.0) for i in range(0, len(flat), 2)]
        return TicketLock(conversation_id, deque(tickets))

    def save_lock(self, lock: TicketLock) -> None:
        """Refused: writing a whole lock back is the read-modify-write that loses other instances' tickets."""
        raise NotImplementedError(
            f"{self.__class__.__name__} changes locks only atomically (issue_ticket, finish_serving, cleanup); "
            f"save_lock('{lock.conversation_id}') would overwrite other instances' tickets"
        )

    def update_lock(self, conversation_id: Text) -> None:
        """Remove the conversation's expired tickets (every script does so too)."""
        self._call(self._read, keys=self._keys(conversation_id)[:2])

    def delete_lock(self, conversation_id: Text) -> None:
        """Forget every ticket of the conversation (the counter stays, so numbers are not reissued)."""
        deleted = self._call(self.red.delete, *self._keys(conversation_id)[:2])
        self._log_deletion(conversation_id, bool(deleted))

    def is_someone_waiting(self, conversation_id: Text) -> bool:
        return self.get_lock(conversation_id) is not None

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        """Release `ticket_number` (one atomic step; the keys go when it was the last live ticket)."""
        left = self._call(self._release, keys=self._keys(conversation_id)[:2], args=[ticket_number])
        logger.debug("Released ticket %s of '%s'; %s left.", ticket_number, conversation_id, left)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Release `ticket_number`; the release itself deletes the lock when no one is waiting."""
        self.finish_serving(conversation_id, ticket_number)
