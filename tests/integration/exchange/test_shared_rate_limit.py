"""The Redis token bucket shared by several processes, against the real Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tradestream.config.settings import Settings
from tradestream.exchange.shared_rate_limit import RedisTokenBuckets


@pytest.fixture
async def shared_redis(settings: Settings) -> AsyncIterator[tuple[Redis, str]]:
    client = Redis.from_url(settings.redis_url.get_secret_value())
    prefix = f"test:ratelimit:{uuid.uuid4().hex}"
    yield client, prefix
    keys = [k async for k in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_two_processes_share_one_bucket(shared_redis: tuple[Redis, str]) -> None:
    client, prefix = shared_redis
    first = RedisTokenBuckets(client, prefix, rate_per_s=10, burst=10)
    second = RedisTokenBuckets(client, prefix, rate_per_s=10, burst=10)
    now = 1_000.0
    grants = [await limiter.try_acquire("uid-1", now) == 0.0 for limiter in (first, second) * 8]
    assert sum(grants) == 10
    assert await first.try_acquire("uid-1", now) == pytest.approx(0.1)
    assert await second.try_acquire("uid-1", now + 0.1) == 0.0
    assert await first.try_acquire("other-uid", now) == 0.0


async def test_refill_is_capped_at_burst_and_time_never_runs_back(
    shared_redis: tuple[Redis, str],
) -> None:
    client, prefix = shared_redis
    limiter = RedisTokenBuckets(client, prefix, rate_per_s=2, burst=3)
    for _ in range(3):
        assert await limiter.try_acquire("k", 50.0) == 0.0
    assert await limiter.try_acquire("k", 40.0) == pytest.approx(0.5)
    granted = [await limiter.try_acquire("k", 1_000.0) == 0.0 for _ in range(5)]
    assert granted == [True, True, True, False, False]
    ttl = await client.ttl(f"{prefix}:k")
    assert 0 < ttl <= 61


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="rate_per_s"):
        RedisTokenBuckets(Redis(), "p", rate_per_s=0, burst=1)
