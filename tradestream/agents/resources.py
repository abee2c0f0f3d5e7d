"""Connections the agents share in one worker process, opened lazily on first use."""

from __future__ import annotations

from functools import cache

from redis.asyncio import Redis

from tradestream.app import settings
from tradestream.sinks.clickhouse import ClickHouseSink
from tradestream.sinks.dead_letters import RedisDeadLetterQueue


@cache
def dead_letter_queue() -> RedisDeadLetterQueue:
    """Return the worker's DLQ writer."""
    redis = Redis.from_url(settings.redis_url.get_secret_value())
    return RedisDeadLetterQueue(redis, settings.dlq_stream)


@cache
def clickhouse() -> ClickHouseSink:
    """Return the worker's ClickHouse writer."""
    return ClickHouseSink(settings)
