"""A simulator with books, a real Redis under a test-only prefix, and adapters pointed at both."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from tradestream.core.clock import now_ms
from tradestream.core.matching import best_bid
from tradestream.core.resilience import (
    CircuitBreaker,
    RateLimitRegistry,
    RetryPolicy,
    RetryPolicyConfig,
)
from tradestream.exchange.bybit import BybitConfig, BybitExchange
from tradestream.exchange.idempotency import IdempotencyStore
from tradestream.exchange.order_gateway import OrderGateway, OrderGatewayConfig
from tradestream.schemas.orders import OrderType, PlaceOrder, Side
from tradestream.simulator import BybitSimulator

RECORDING = (
    Path(__file__).resolve().parents[2]
    / "fixtures/bybit/BTCUSDT-ETHUSDT-SOLUSDT-DOGEUSDT_2026-08-09_linear_all_topics.ndjson.gz"
)
SYMBOL = "BTCUSDT"


@pytest.fixture
async def redis() -> AsyncIterator[tuple[Redis, str]]:
    """A Redis client and a key prefix of this test only; its keys are deleted afterwards."""
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    yield client, prefix
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def bybit_config(sim: BybitSimulator, prefix: str, **overrides: object) -> BybitConfig:
    """Return a config that points pybit's REST endpoint at the simulator."""
    settings: dict[str, object] = {
        "api_key": "sim-key",
        "api_secret": "sim-secret",
        "endpoint": sim.rest_url,
        "timeout_s": 1.0,
        "redis_prefix": prefix,
    }
    settings.update(overrides)
    return BybitConfig.model_validate(settings)


@pytest.fixture
def exchange(sim: BybitSimulator, redis: tuple[Redis, str]) -> BybitExchange:
    """The Bybit adapter on the simulator."""
    client, prefix = redis
    return BybitExchange(bybit_config(sim, prefix), client)


@pytest.fixture
def gateway(exchange: BybitExchange, redis: tuple[Redis, str]) -> OrderGateway:
    """The order gateway over the adapter, with real Redis and fast back-offs."""
    client, prefix = redis
    return OrderGateway(
        exchange,
        IdempotencyStore(client, prefix),
        limits=RateLimitRegistry(),
        breaker=CircuitBreaker(),
        retry=RetryPolicy(RetryPolicyConfig(base_delay_s=0.01, max_delay_s=0.05), random.Random(0)),
        clock=time.monotonic,
        ms_clock=now_ms,
        config=OrderGatewayConfig(query_delay_s=0.05, duplicate_wait_s=5.0),
    )


def resting_buy(sim: BybitSimulator, signal_id: str, qty: str = "0.01") -> PlaceOrder:
    """A limit buy 5% under the best bid: it rests and never fills on a still book."""
    bid = best_bid(sim.exchange.venue.book(SYMBOL))
    assert bid is not None
    return PlaceOrder(
        command_id=f"cmd-{signal_id}",
        strategy="itest",
        signal_id=signal_id,
        symbol=SYMBOL,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        qty=Decimal(qty),
        price=(bid * Decimal("0.95")).quantize(Decimal("0.01")),
        issued_at_ms=now_ms(),
    )


def market_buy(signal_id: str, qty: str = "0.01") -> PlaceOrder:
    """A market buy that fills against the book at once."""
    return PlaceOrder(
        command_id=f"cmd-{signal_id}",
        strategy="itest",
        signal_id=signal_id,
        symbol=SYMBOL,
        side=Side.BUY,
        order_type=OrderType.MARKET,
        qty=Decimal(qty),
        issued_at_ms=now_ms(),
    )


Admin = Callable[..., Awaitable[dict[str, object]]]


@pytest.fixture
async def admin(sim: BybitSimulator) -> AsyncIterator[Admin]:
    """Call the simulator's exchange admin API: ``await admin("POST", "/faults", json=...)``."""
    async with aiohttp.ClientSession() as session:

        async def _call(method: str, path: str, **kwargs: object) -> dict[str, object]:
            url = f"{sim.admin_url}/exchange{path}"
            async with session.request(method, url, **kwargs) as response:  # type: ignore[arg-type]
                assert response.status == 200, await response.text()
                body: dict[str, object] = await response.json()
                return body

        yield _call
