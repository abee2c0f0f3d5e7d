"""Reserve each ``orderLinkId`` in Redis before any exchange call, and remember the outcome.

An order is placed at most once even when Kafka redelivers a command or two workers race on it:
the first caller wins ``SET NX`` on the id and is the only one that talks to the exchange; the
others see the reservation and wait for the recorded outcome (or, past their patience, ask the
exchange by ``orderLinkId`` themselves). The key expires after ``ttl_s`` so Redis does not grow
without bound; it must outlive any redelivery of the command. ``OutcomeStore`` is the seam the
order gateway sees; ``MemoryIdempotencyStore`` serves one process (paper trading, backtests,
tests) where no other worker can race.

While Redis is unreachable ``IdempotencyStore`` fails closed: every call raises
``UnavailableError`` naming the order and what was not done (``reserve``: the order is not sent),
and the execution agent retries the command until Redis answers again.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel
from redis.asyncio import Redis

from tradestream.config.redis import redis_reachable
from tradestream.core.orders import OrderStatus

PENDING = "pending"


class RecordedOutcome(BaseModel, frozen=True, extra="forbid"):
    """What became of one ``orderLinkId``: our last known status and the exchange's order id."""

    status: OrderStatus
    order_id: str | None = None
    reason: str = ""


class OutcomeStore(Protocol):
    """Reserve ``orderLinkId``s and remember what became of them."""

    async def reserve(self, order_link_id: str) -> bool:
        """Claim the id for this caller; False if somebody already has (or had) it."""
        ...

    async def record(self, order_link_id: str, outcome: RecordedOutcome) -> None:
        """Store the outcome of the call that the reservation covered."""
        ...

    async def outcome(self, order_link_id: str) -> RecordedOutcome | None:
        """Return the recorded outcome, or None while the id is only reserved (or unknown)."""
        ...


class MemoryIdempotencyStore:
    """Hold reservations and outcomes in this process's memory (no expiry)."""

    def __init__(self) -> None:
        self._entries: dict[str, RecordedOutcome | None] = {}

    async def reserve(self, order_link_id: str) -> bool:
        """Claim the id for this caller; False if somebody already has (or had) it."""
        if order_link_id in self._entries:
            return False
        self._entries[order_link_id] = None
        return True

    async def record(self, order_link_id: str, outcome: RecordedOutcome) -> None:
        """Store the outcome of the call that the reservation covered."""
        self._entries[order_link_id] = outcome

    async def outcome(self, order_link_id: str) -> RecordedOutcome | None:
        """Return the recorded outcome, or None while the id is only reserved (or unknown)."""
        return self._entries.get(order_link_id)


class IdempotencyStore:
    """Hold ``orderLinkId`` reservations and outcomes under one Redis key prefix."""

    def __init__(self, redis: Redis, prefix: str, ttl_s: int = 7 * 24 * 3600) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl_s = ttl_s

    def key(self, order_link_id: str) -> str:
        """Return the Redis key of one ``orderLinkId``."""
        return f"{self._prefix}idem:{order_link_id}"

    async def reserve(self, order_link_id: str) -> bool:
        """Claim the id for this caller; False if somebody already has (or had) it."""
        with redis_reachable(f"order {order_link_id} not sent"):
            key = self.key(order_link_id)
            claimed = await self._redis.set(key, PENDING, nx=True, ex=self._ttl_s)
        return bool(claimed)

    async def record(self, order_link_id: str, outcome: RecordedOutcome) -> None:
        """Store the outcome of the call that the reservation covered."""
        with redis_reachable(
            f"the outcome of order {order_link_id} ({outcome.status}) not recorded"
        ):
            key = self.key(order_link_id)
            await self._redis.set(key, outcome.model_dump_json(), ex=self._ttl_s)

    async def outcome(self, order_link_id: str) -> RecordedOutcome | None:
        """Return the recorded outcome, or None while the id is only reserved (or unknown)."""
        with redis_reachable(f"the outcome of order {order_link_id} not read"):
            value = await self._redis.get(self.key(order_link_id))
        if value is None or value in (PENDING, PENDING.encode()):
            return None
        return RecordedOutcome.model_validate_json(value)

    async def is_reserved(self, order_link_id: str) -> bool:
        """Tell whether the id is reserved or has an outcome."""
        with redis_reachable(f"the reservation of order {order_link_id} not read"):
            return bool(await self._redis.exists(self.key(order_link_id)))
