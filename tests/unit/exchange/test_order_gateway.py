"""The order gateway on a paper exchange and a fake clock: at most once, whatever goes wrong."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import pytest

from tradestream.core.errors import RetryableError
from tradestream.core.orders import OrderStatus, order_link_id_for
from tradestream.core.resilience import (
    BucketConfig,
    CircuitBreaker,
    CircuitBreakerConfig,
    Outcome,
    RateLimitConfig,
    RateLimitRegistry,
    RetryPolicy,
    RetryPolicyConfig,
    SharedRateLimiter,
    TokenBucket,
)
from tradestream.exchange.base import ExchangeError
from tradestream.exchange.idempotency import MemoryIdempotencyStore
from tradestream.exchange.order_gateway import OrderGateway, OrderGatewayConfig
from tradestream.exchange.paper import PaperExchange, PaperExchangeConfig
from tradestream.schemas.exchange import OrderAck, OrderSnapshot
from tradestream.schemas.orders import PlaceOrder

from .conftest import SYMBOL, PlaceFactory, btc_book

QUERY_DELAY_S = 0.2


class FakeTime:
    """A clock in seconds that moves only when the gateway sleeps."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def ms(self) -> int:
        return int(self.now * 1000)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class ScriptedPaper(PaperExchange):
    """A paper exchange that counts create calls and can fail the next ones on purpose."""

    def __init__(self, time: FakeTime, config: PaperExchangeConfig | None = None) -> None:
        super().__init__(config, clock=time.ms)
        self.place_calls = 0
        self.failures: list[tuple[ExchangeError, bool]] = []
        """Errors for the next calls, each with whether the order is placed before it."""
        self.on_book(SYMBOL, btc_book())

    def fail_next(self, error: ExchangeError, *, placed: bool = False) -> None:
        self.failures.append((error, placed))

    def fail_queries(self, count: int, error: ExchangeError) -> None:
        """Answer the next ``count`` order lookups with ``error`` (a limit, a timeout)."""
        self.query_failures = [error] * count

    async def order(self, symbol: str, order_link_id: str) -> OrderSnapshot | None:
        self.query_calls = getattr(self, "query_calls", 0) + 1
        failures = getattr(self, "query_failures", [])
        if failures:
            raise failures.pop()
        return await super().order(symbol, order_link_id)

    async def place(self, command: PlaceOrder) -> OrderAck:
        self.place_calls += 1
        if self.failures:
            error, placed = self.failures.pop(0)
            if placed:
                await super().place(command)
            raise error
        return await super().place(command)


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def exchange(time: FakeTime) -> ScriptedPaper:
    return ScriptedPaper(time)


def _gateway(
    exchange: PaperExchange,
    time: FakeTime,
    *,
    limits: RateLimitRegistry | None = None,
    breaker: CircuitBreaker | None = None,
    shared_limits: SharedRateLimiter | None = None,
) -> OrderGateway:
    return OrderGateway(
        exchange,
        MemoryIdempotencyStore(),
        limits=limits or RateLimitRegistry(),
        breaker=breaker or CircuitBreaker(),
        retry=RetryPolicy(RetryPolicyConfig(), random.Random(0)),
        clock=time.clock,
        ms_clock=time.ms,
        sleep=time.sleep,
        config=OrderGatewayConfig(query_delay_s=QUERY_DELAY_S),
        shared_limits=shared_limits,
    )


@pytest.fixture
def gateway(exchange: ScriptedPaper, time: FakeTime) -> OrderGateway:
    return _gateway(exchange, time)


async def test_duplicate_commands_place_one_order(
    gateway: OrderGateway, exchange: ScriptedPaper, make_place: PlaceFactory
) -> None:
    command = make_place(price="64000")
    first, *followers = await asyncio.gather(*(gateway.place(command) for _ in range(3)))
    replayed = await gateway.place(command)
    assert exchange.place_calls == 1
    assert first.status is OrderStatus.SUBMITTED
    assert {o.status for o in [*followers, replayed]} == {OrderStatus.ACKNOWLEDGED}
    assert {o.exchange_order_id for o in [first, *followers, replayed]} == {first.exchange_order_id}


async def test_a_reservation_left_by_a_dead_worker_is_sent_once_after_the_wait(
    exchange: ScriptedPaper, time: FakeTime, make_place: PlaceFactory
) -> None:
    gateway = _gateway(exchange, time)
    command = make_place(price="64000")
    # A worker reserved the id and was killed before its request left: no outcome, no order.
    assert await gateway._store.reserve(order_link_id_for(command))
    order = await gateway.place(command)
    assert exchange.place_calls == 1
    assert order.status is OrderStatus.SUBMITTED
    assert sum(time.sleeps) >= gateway.config.duplicate_wait_s  # it waited for the first holder
    again = await gateway.place(command)  # and a later redelivery only follows it
    assert exchange.place_calls == 1
    assert again.exchange_order_id == order.exchange_order_id


async def test_a_dead_workers_reservation_is_not_sent_while_the_exchange_cannot_say(
    exchange: ScriptedPaper, time: FakeTime, make_place: PlaceFactory
) -> None:
    gateway = _gateway(exchange, time)
    command = make_place(price="64000")
    assert await gateway._store.reserve(order_link_id_for(command))
    exchange.fail_queries(
        1, ExchangeError(Outcome.RATE_LIMITED, "Too many visits!", ret_code=10006)
    )
    # Rate limited: whether the dead worker's request arrived is unknown. Neither sent blind nor
    # given up on: the command is to be carried out again later.
    with pytest.raises(RetryableError, match="cannot tell whether"):
        await gateway.place(command)
    assert exchange.place_calls == 0
    order = await gateway.place(command)  # the redelivery, once the exchange answers
    assert exchange.place_calls == 1
    assert order.status is OrderStatus.SUBMITTED


async def test_a_lookup_the_exchange_never_answers_is_asked_again_later_not_given_up(
    gateway: OrderGateway, exchange: ScriptedPaper, make_place: PlaceFactory
) -> None:
    exchange.fail_next(ExchangeError(Outcome.AMBIGUOUS, "timed out"), placed=True)
    exchange.fail_queries(
        gateway.config.query_attempts, ExchangeError(Outcome.UNAVAILABLE, "503", ret_code=10016)
    )
    command = make_place(price="64000")
    with pytest.raises(RetryableError, match="did not say what became of"):
        await gateway.place(command)
    order = await gateway.place(command)  # again later: the order the timeout hid is adopted
    assert exchange.place_calls == 1
    assert order.status is OrderStatus.ACKNOWLEDGED


async def test_lookups_take_order_query_tokens(
    exchange: ScriptedPaper, time: FakeTime, make_place: PlaceFactory
) -> None:
    bucket = BucketConfig(rate_per_s=1, burst=1)
    gateway = _gateway(
        exchange, time, limits=RateLimitRegistry(RateLimitConfig(order_query=bucket))
    )
    exchange.fail_next(ExchangeError(Outcome.AMBIGUOUS, "timed out"), placed=True)
    order = await gateway.place(make_place(price="64000"))
    assert order.status is OrderStatus.ACKNOWLEDGED
    assert time.sleeps == [pytest.approx(1.0)]  # the lookup of its fills waited for a token


@pytest.mark.parametrize(
    ("price", "status"), [("64000", OrderStatus.ACKNOWLEDGED), (None, OrderStatus.FILLED)]
)
async def test_an_ambiguous_answer_is_resolved_by_query_not_by_resending(
    gateway: OrderGateway,
    exchange: ScriptedPaper,
    make_place: PlaceFactory,
    price: str | None,
    status: OrderStatus,
) -> None:
    exchange.fail_next(ExchangeError(Outcome.AMBIGUOUS, "timed out"), placed=True)
    order = await gateway.place(make_place(price=price))
    assert exchange.place_calls == 1
    assert order.status is status
    snapshot = await exchange.order(SYMBOL, order.order_link_id)
    assert snapshot is not None
    assert order.cum_qty == snapshot.cum_exec_qty


async def test_an_ambiguous_answer_for_an_order_never_placed_fails_after_the_queries(
    gateway: OrderGateway, exchange: ScriptedPaper, time: FakeTime, make_place: PlaceFactory
) -> None:
    exchange.fail_next(ExchangeError(Outcome.AMBIGUOUS, "502"))
    order = await gateway.place(make_place(price="64000"))
    assert exchange.place_calls == 1
    assert order.status is OrderStatus.FAILED
    assert "not found at the exchange" in order.history[-1].reason
    attempts = gateway.config.query_attempts
    assert time.sleeps == [QUERY_DELAY_S] * (attempts - 1)


async def test_an_open_breaker_refuses_without_calling_then_lets_a_probe_through(
    exchange: ScriptedPaper, time: FakeTime, make_place: PlaceFactory
) -> None:
    breaker = CircuitBreaker(CircuitBreakerConfig(failures_to_open=1, open_for_s=30))
    breaker.record_failure(time.clock())
    gateway = _gateway(exchange, time, breaker=breaker)
    refused = await gateway.place(make_place(price="64000"))
    assert exchange.place_calls == 0
    assert refused.status is OrderStatus.REJECTED
    assert "circuit breaker open" in refused.history[-1].reason

    time.now += 30
    probe = await gateway.place(make_place(price="64000"))
    assert exchange.place_calls == 1
    assert probe.status is OrderStatus.SUBMITTED


async def test_the_local_rate_limit_is_waited_out_with_the_injected_sleep(
    exchange: ScriptedPaper, time: FakeTime, make_place: PlaceFactory
) -> None:
    bucket = BucketConfig(rate_per_s=2, burst=1)
    limits = RateLimitRegistry(RateLimitConfig(order_create=bucket))
    gateway = _gateway(exchange, time, limits=limits)
    orders = [await gateway.place(make_place(price="64000")) for _ in range(2)]
    assert [o.status for o in orders] == [OrderStatus.SUBMITTED] * 2
    assert time.sleeps == [pytest.approx(0.5)]
    assert exchange.place_calls == 2


async def test_the_exchanges_rate_limit_reset_time_is_honoured_before_resending(
    gateway: OrderGateway, exchange: ScriptedPaper, time: FakeTime, make_place: PlaceFactory
) -> None:
    limited = ExchangeError(Outcome.RATE_LIMITED, "Too many visits!", ret_code=10006)
    limited.retry_after_s = 2.5
    exchange.fail_next(limited)
    order = await gateway.place(make_place(price="64000"))
    assert order.status is OrderStatus.SUBMITTED
    assert exchange.place_calls == 2
    assert time.sleeps[0] >= 2.5


async def test_a_refusal_rejects_without_resending(
    time: FakeTime, make_place: PlaceFactory
) -> None:
    exchange = ScriptedPaper(time, PaperExchangeConfig(initial_balance=Decimal(10)))
    order = await _gateway(exchange, time).place(make_place(qty="1"))
    assert order.status is OrderStatus.REJECTED
    assert exchange.place_calls == 1
    assert time.sleeps == []


class SharedBucket:
    """An account-wide bucket as other processes see it: in-process here, Redis live."""

    def __init__(self, rate_per_s: float, burst: float) -> None:
        self.bucket = TokenBucket(rate_per_s, burst)
        self.keys: list[str] = []

    async def try_acquire(self, key: str, now: float) -> float:
        self.keys.append(key)
        return self.bucket.try_acquire(now)


async def test_shared_rate_limit_is_waited_out_through_the_injected_sleep(
    exchange: ScriptedPaper, time: FakeTime, make_place: PlaceFactory
) -> None:
    shared = SharedBucket(rate_per_s=1, burst=1)
    shared.bucket.try_acquire(time.now)  # another process just used the only token
    gateway = _gateway(exchange, time, shared_limits=shared)
    order = await gateway.place(make_place(price="64000"))
    assert order.status is OrderStatus.SUBMITTED
    assert time.sleeps == [pytest.approx(1.0)]
    assert exchange.place_calls == 1
    assert len(shared.keys) == 2
