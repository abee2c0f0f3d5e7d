"""Keep a paper exchange's account in Redis so that it outlives the trading worker.

Without it a restarted worker would start a fresh paper account (initial balance, flat, no
resting orders, no stops) and reconciliation would then "correct" our positions to flat. So
the account is saved after every change, before the events of that change are published on
``exec.reports``, and read back when the worker starts, before it first reconciles. Two keys
under the worker's prefix (its namespace):

- ``<prefix>paper:account``: the account as one JSON document (``PaperExchange.take_changes``),
  written whole at every save; small: positions, resting orders, stops, counters;
- ``<prefix>paper:orders``: a hash ``orderLinkId`` → the order and its executions, written
  only for the orders that changed; open orders and the last ``ended_orders_kept`` ended ones.

Both go in one MULTI/EXEC, so a crash never leaves one without the other. While Redis is
unreachable saving fails closed like the idempotency store: ``UnavailableError``, the caller
retries and publishes nothing meanwhile, and the changes stay marked unsaved.
"""

from __future__ import annotations

import asyncio
import json

from pydantic import ValidationError
from redis.asyncio import Redis

from tradestream.config.redis import redis_reachable
from tradestream.core.errors import HaltError
from tradestream.exchange.paper import PaperExchange


class PaperAccountStore:
    """Save one paper exchange's account under a Redis key prefix and read it back."""

    def __init__(self, exchange: PaperExchange, redis: Redis, prefix: str) -> None:
        self._exchange = exchange
        self._redis = redis
        self.account_key = f"{prefix}paper:account"
        self.orders_key = f"{prefix}paper:orders"
        self._saving = asyncio.Lock()

    async def load(self) -> bool:
        """Restore the saved account into the exchange; False if none was saved (a new one).

        A saved account that cannot be read halts: starting afresh would flatten our positions.
        """
        with redis_reachable("the paper account not read: not trading"):
            account = await self._redis.get(self.account_key)
            orders = await self._redis.hvals(self.orders_key) if account is not None else []
        if account is None:
            return False
        try:
            self._exchange.restore(json.loads(account), [json.loads(o) for o in orders])
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            unreadable = f"the paper account in {self.account_key} cannot be read: {exc}"
            raise HaltError(unreadable) from exc
        return True

    async def save(self) -> None:
        """Write what changed since the last save; nothing when nothing did."""
        async with self._saving:  # one at a time, so a later state never lands first
            if not self._exchange.changed:
                return
            changes = self._exchange.take_changes()
            try:
                with redis_reachable("the paper account not saved: its events wait"):
                    async with self._redis.pipeline(transaction=True) as pipe:
                        pipe.set(self.account_key, json.dumps(changes.account))
                        for link_id, order in changes.orders.items():
                            pipe.hset(self.orders_key, link_id, json.dumps(order))
                        if changes.dropped:
                            pipe.hdel(self.orders_key, *changes.dropped)
                        await pipe.execute()
            except BaseException:
                self._exchange.put_back(changes)
                raise
