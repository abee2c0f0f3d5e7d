"""The Redis idempotency store fails closed: while Redis is down nothing is sent."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tradestream.core.errors import RetryableError, UnavailableError
from tradestream.core.orders import OrderStatus, order_link_id_for
from tradestream.core.resilience import (
    CircuitBreaker,
    RateLimitRegistry,
    RetryPolicy,
    RetryPolicyConfig,
)
from tradestream.exchange.idempotency import IdempotencyStore, RecordedOutcome
from tradestream.exchange.order_gateway import OrderGateway
from tradestream.exchange.paper import PaperExchange
from tradestream.schemas.orders import OrderEvent

from .conftest import FakeMsClock, PlaceFactory

LINK = "momentum-BTCUSDT-1"


class SwitchedRedis:
    """The few Redis commands the store uses, over a dict, with an outage switch."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.down = False

    def _reach(self) -> None:
        if self.down:
            raise RedisConnectionError(
                "Error 111 connecting to 127.0.0.1:6379. Connection refused."
            )

    async def set(self, key: str, value: str | bytes, *, nx: bool = False, ex: int = 0) -> bool:
        self._reach()
        if nx and key in self.values:
            return False
        self.values[key] = value.encode() if isinstance(value, str) else value
        return True

    async def get(self, key: str) -> bytes | None:
        self._reach()
        return self.values.get(key)

    async def exists(self, key: str) -> int:
        self._reach()
        return int(key in self.values)


@pytest.fixture
def redis() -> SwitchedRedis:
    return SwitchedRedis()


@pytest.fixture
def store(redis: SwitchedRedis) -> IdempotencyStore:
    return IdempotencyStore(cast(Redis, redis), "t:")


CALLS: dict[str, Callable[[IdempotencyStore], Awaitable[Any]]] = {
    "reserve": lambda s: s.reserve(LINK),
    "record": lambda s: s.record(LINK, RecordedOutcome(status=OrderStatus.FILLED)),
    "outcome": lambda s: s.outcome(LINK),
    "is_reserved": lambda s: s.is_reserved(LINK),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
async def test_every_call_says_redis_is_unreachable_and_for_which_order(
    store: IdempotencyStore,
    redis: SwitchedRedis,
    call: Callable[[IdempotencyStore], Awaitable[Any]],
) -> None:
    redis.down = True
    with pytest.raises(UnavailableError, match=LINK) as raised:
        await call(store)
    assert isinstance(raised.value, RetryableError)
    assert isinstance(raised.value.__cause__, RedisConnectionError)


async def test_no_order_is_sent_while_redis_is_down_and_one_is_when_it_is_back(
    redis: SwitchedRedis,
    paper: PaperExchange,
    events: list[OrderEvent],
    ms_clock: FakeMsClock,
    make_place: PlaceFactory,
) -> None:
    gateway = OrderGateway(
        paper,
        IdempotencyStore(cast(Redis, redis), "t:"),
        limits=RateLimitRegistry(),
        breaker=CircuitBreaker(),
        retry=RetryPolicy(RetryPolicyConfig(), random.Random(0)),
        clock=lambda: ms_clock() / 1000,
        ms_clock=ms_clock,
    )
    command = make_place()
    redis.down = True
    for _ in range(3):
        with pytest.raises(UnavailableError, match="not sent"):
            await gateway.place(command)
    assert events == []

    redis.down = False
    order = await gateway.place(command)
    again = await gateway.place(command)  # a redelivery follows the order already sent

    assert order.order_link_id == again.order_link_id == order_link_id_for(command)
    assert [e.kind for e in events] == ["order_accepted", "order_filled"]
