"""Connections the agents share in one worker process, opened lazily on first use."""

from __future__ import annotations

from functools import cache

from tradestream.app import settings
from tradestream.config.redis import redis_client
from tradestream.sinks.clickhouse import ClickHouseSink
from tradestream.sinks.dead_letters import RedisDeadLetterQueue


@cache
def dead_letter_queue() -> RedisDeadLetterQueue:
    """Return the worker's DLQ writer."""
    redis = redis_client(settings)
    return RedisDeadLetterQueue(redis, settings.dlq_stream)


@cache
def clickhouse() -> ClickHouseSink:
    """Return the worker's ClickHouse writer."""
    return ClickHouseSink(settings)
